using System.Text;

namespace AotMilter.Filters.Tests.Scanning;

/// <summary>
/// A private clamd: offline (freshclam never runs), with a one-signature database written here that finds the EICAR
/// test string anywhere in a stream (clamd reports it as <c>Eicar-Test-Signature.UNOFFICIAL</c>: an unsigned
/// database's names get that suffix), on a unix socket in its own directory. Starts in well under a second.
/// </summary>
internal sealed class ClamdDaemon : ScannerDaemon
{
    public const string Program = "/usr/sbin/clamd";

    private ClamdDaemon()
        : base("clamd")
    {
    }

    /// <summary>Null when clamd can run here; otherwise why the test skips.</summary>
    public static string? Missing => File.Exists(Program) ? null : $"{Program} is not installed (Debian package clamav-daemon; ./build.sh test installs it)";

    public string SocketPath => Path.Combine(Directory, "clamd.sock");

    public string Address => "unix:" + SocketPath;

    public static async Task<ClamdDaemon> StartAsync()
    {
        var daemon = new ClamdDaemon();
        try
        {
            string db = Path.Combine(daemon.Directory, "db");
            System.IO.Directory.CreateDirectory(db);
            string hex = Convert.ToHexStringLower(Encoding.ASCII.GetBytes(Eicar.Text));
            File.WriteAllText(Path.Combine(db, "eicar.ndb"), $"Eicar-Test-Signature:0:*:{hex}\n");
            string config = Path.Combine(daemon.Directory, "clamd.conf");
            File.WriteAllText(config, $"""
                Foreground yes
                DatabaseDirectory {db}
                LocalSocket {daemon.SocketPath}
                LocalSocketMode 666
                FixStaleSocket yes
                LogFile {Path.Combine(daemon.Directory, "clamd.log")}
                User {Environment.UserName}
                MaxThreads 4
                StreamMaxLength 10M
                ScanMail yes
                Bytecode no
                """);
            await daemon.StartAsync(Program, ["--config-file=" + config], daemon.PingAsync, TimeSpan.FromSeconds(30));
            return daemon;
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }
    }

    private Task<bool> PingAsync() => AnswersOnSocketAsync(SocketPath, "zPING\0"u8.ToArray(), "PONG", TimeSpan.FromSeconds(2));
}

/// <summary>The anti-virus test file every scanner detects, and a message that carries it.</summary>
internal static class Eicar
{
    public const string Text = @"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

    public static byte[] Message(string subject = "test") => Encoding.ASCII.GetBytes(
        $"From: sender@example.net\r\nTo: rcpt@example.org\r\nSubject: {subject}\r\nMessage-ID: <{Guid.NewGuid():N}@example.net>\r\n\r\n{Text}\r\n");

    public static byte[] Clean(string subject = "hello", int bodyLines = 3) => Encoding.ASCII.GetBytes(
        $"From: sender@example.net\r\nTo: rcpt@example.org\r\nSubject: {subject}\r\nMessage-ID: <{Guid.NewGuid():N}@example.net>\r\n\r\n"
        + string.Concat(Enumerable.Range(0, bodyLines).Select(i => $"Line {i} of an ordinary message.\r\n")));
}
