using AotMilter.Filters.Tests.Scanning;

namespace AotMilter.EndToEnd.Tests.Differential;

/// <summary>
/// A scanning milter admins run today (Debian's clamav-milter or spamass-milter), started by the test on a unix socket
/// in its own directory, in front of the same clamd or spamd as AotMilter's filter: the anchor of the differential.
/// </summary>
internal sealed class AnchorMilter : ScannerDaemon
{
    private AnchorMilter(string name)
        : base(name)
    {
    }

    public string SocketPath => Path.Combine(Directory, "milter.sock");

    public static string? Missing(string program) => File.Exists(program) ? null : $"{program} is not installed (apt-get install {Path.GetFileName(program)})";

    /// <summary>clamav-milter configured as a typical install: OnInfected Reject, OnFail Defer, AddHeader Replace.</summary>
    public static async Task<AnchorMilter> ClamavMilterAsync(string clamdSocket)
    {
        var anchor = new AnchorMilter("clamav-milter");
        string config = Path.Combine(anchor.Directory, "clamav-milter.conf");
        File.WriteAllText(config, $"""
            MilterSocket {anchor.SocketPath}
            MilterSocketMode 666
            ClamdSocket unix:{clamdSocket}
            Foreground yes
            User root
            PidFile {anchor.Directory}/pid
            TemporaryDirectory {anchor.Directory}
            OnInfected Reject
            OnFail Defer
            AddHeader Replace
            LogSyslog no
            LogFile {anchor.Directory}/clamav-milter.log
            LogInfected Basic
            MaxFileSize 25M
            """);
        await anchor.StartAsync("/usr/sbin/clamav-milter", ["--config-file=" + config], () => Task.FromResult(File.Exists(anchor.SocketPath)), TimeSpan.FromSeconds(30));
        return anchor;
    }

    /// <summary>spamass-milter refusing at <paramref name="rejectScore"/>, its spamc talking to spamd's unix socket.</summary>
    public static async Task<AnchorMilter> SpamassMilterAsync(string spamdSocket, int rejectScore)
    {
        var anchor = new AnchorMilter("spamass-milter");
        await anchor.StartAsync("/usr/sbin/spamass-milter",
            ["-p", anchor.SocketPath, "-r", rejectScore.ToString(System.Globalization.CultureInfo.InvariantCulture), "--", "-U", spamdSocket],
            () => Task.FromResult(File.Exists(anchor.SocketPath)), TimeSpan.FromSeconds(30));
        File.SetUnixFileMode(anchor.SocketPath, (UnixFileMode)0b110_110_110);
        return anchor;
    }
}
