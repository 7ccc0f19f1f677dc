using System.Globalization;

namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>What the kernel says a process holds, from /proc/PID/status and /proc/PID/fd: measured, not estimated.</summary>
public readonly record struct ProcessMemory(long RssKiB, long PeakRssKiB, int Descriptors)
{
    public double RssMiB => RssKiB / 1024.0;

    public double PeakRssMiB => PeakRssKiB / 1024.0;

    public static ProcessMemory Of(int pid)
    {
        long rss = 0, peak = 0;
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = KiB(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = KiB(line);
            }
        }

        return new ProcessMemory(rss, peak, Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length);
    }

    /// <summary>Waits until the resident size is at most <paramref name="kib"/> (memory given back takes a moment); returns the last reading.</summary>
    public static async Task<ProcessMemory> WaitForRssAtMostAsync(int pid, long kib, TimeSpan timeout)
    {
        DateTime end = DateTime.UtcNow + timeout;
        ProcessMemory now = Of(pid);
        while (now.RssKiB > kib && DateTime.UtcNow < end)
        {
            await Task.Delay(200);
            now = Of(pid);
        }

        return now;
    }

    public override string ToString() => $"RSS {RssMiB:0.0} MiB (peak {PeakRssMiB:0.0} MiB), {Descriptors} descriptors";

    private static long KiB(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
}
