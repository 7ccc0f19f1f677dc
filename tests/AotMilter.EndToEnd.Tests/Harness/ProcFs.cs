namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>What the kernel counts for a process (/proc/PID): resident memory, and the CPU time and sleeps of one of its threads.</summary>
internal static class ProcFs
{
    /// <summary>
    /// The time the thread named <paramref name="threadName"/> (as in /proc/PID/task/TID/comm) has run on a CPU, from
    /// its schedstat: unlike wall-clock time it does not grow while the thread waits for a CPU on a busy machine.
    /// </summary>
    public static TimeSpan ThreadCpu(int pid, string threadName)
    {
        string task = ThreadDirectory(pid, threadName);
        long nanoseconds = long.Parse(File.ReadAllText(Path.Combine(task, "schedstat")).Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        return TimeSpan.FromTicks(nanoseconds / 100);
    }

    /// <summary>
    /// How often the thread named <paramref name="threadName"/> has gone to sleep so far (voluntary_ctxt_switches of
    /// its status): a thread that yields the core while it polls is not counted, one that waits in epoll_wait is.
    /// </summary>
    public static long ThreadSleeps(int pid, string threadName)
    {
        string status = Path.Combine(ThreadDirectory(pid, threadName), "status");
        string line = File.ReadLines(status).First(l => l.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal));
        return long.Parse(line[(line.IndexOf(':') + 1)..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string ThreadDirectory(int pid, string threadName)
    {
        foreach (string task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            if (File.ReadAllText(Path.Combine(task, "comm")).Trim() == threadName)
            {
                return task;
            }
        }

        throw new InvalidOperationException($"process {pid} has no thread named {threadName}");
    }

    /// <summary>The peak resident set size so far (VmHWM), in bytes.</summary>
    public static long PeakResident(int pid) => Read(pid, "VmHWM:");

    /// <summary>The resident set size now (VmRSS), in bytes.</summary>
    public static long Resident(int pid) => Read(pid, "VmRSS:");

    private static long Read(int pid, string field)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                // "VmHWM:	   94756 kB"
                string kilobytes = line[field.Length..].Trim().Split(' ')[0];
                return long.Parse(kilobytes, System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException($"/proc/{pid}/status has no {field}");
    }
}
