using System.Globalization;
using System.Runtime.InteropServices;

namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>What the kernel reports about a running process in /proc: its open descriptors, the CPU it used and how often its threads woke.</summary>
internal static class ProcStat
{
    private const int ClockTicksName = 2; // _SC_CLK_TCK

    [DllImport("libc", EntryPoint = "sysconf")]
    private static extern long SysConf(int name);

    /// <summary>Descriptors the process has open now (entries of /proc/PID/fd).</summary>
    public static int OpenDescriptors(int pid) => Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;

    /// <summary>User plus system CPU time the process has used so far (utime + stime of /proc/PID/stat).</summary>
    public static TimeSpan CpuTime(int pid)
    {
        // The command name in parentheses may contain spaces: the numbered fields start after the last ')'.
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds((double)ticks / SysConf(ClockTicksName));
    }

    /// <summary>Context switches, voluntary and not, of all the process's threads so far: how often they slept and woke.</summary>
    public static long ContextSwitches(int pid)
    {
        long total = 0;
        foreach (string task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            try
            {
                foreach (string line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        total += long.Parse(line[(line.IndexOf(':') + 1)..].Trim(), CultureInfo.InvariantCulture);
                    }
                }
            }
            catch (IOException)
            {
                // A thread that ended while it was being read.
            }
        }

        return total;
    }

    /// <summary>Sets the process's soft and hard limit of open descriptors (prlimit(1), as root).</summary>
    public static async Task LimitDescriptorsAsync(int pid, int limit)
    {
        ProcessResult result = await ProcessRunner.RunAsync("prlimit", ["--pid", pid.ToString(CultureInfo.InvariantCulture), $"--nofile={limit}:{limit}"], TimeSpan.FromSeconds(10));
        result.EnsureSuccess("prlimit");
    }
}
