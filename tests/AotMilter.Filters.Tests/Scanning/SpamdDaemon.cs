using System.Text;
using Xunit;

namespace AotMilter.Filters.Tests.Scanning;

/// <summary>
/// A private spamd: the rules Debian's package ships (sa-update never runs), local tests only (<c>-L</c>: no DNS,
/// no network checks), no per-user configuration (<c>-x</c>), Bayes off, on a unix socket in its own directory;
/// children run as nobody when the tests run as root. Starts in a few seconds, so a test class shares one.
/// </summary>
public sealed class SpamdDaemon : IAsyncLifetime
{
    public const string Program = "/usr/sbin/spamd";

    private Instance? _instance;

    /// <summary>Null when spamd can run here; otherwise why the test skips.</summary>
    public static string? Missing => File.Exists(Program) && System.IO.Directory.Exists("/usr/share/spamassassin")
        ? null
        : $"{Program} or /usr/share/spamassassin is missing (Debian packages spamd and spamassassin; ./build.sh test installs them)";

    public string Address => "unix:" + SocketPath;

    public string SocketPath => _instance!.SocketPath;

    public string Log => _instance!.Output;

    public void Pause() => _instance!.Pause();

    public void Resume() => _instance!.Resume();

    public async Task InitializeAsync()
    {
        if (Missing is null)
        {
            _instance = await Instance.StartAsync();
        }
    }

    public async Task DisposeAsync()
    {
        if (_instance is not null)
        {
            await _instance.DisposeAsync();
        }
    }

    private sealed class Instance : ScannerDaemon
    {
        private Instance()
            : base("spamd")
        {
        }

        public string SocketPath => Path.Combine(Directory, "spamd.sock");

        public static async Task<Instance> StartAsync()
        {
            var daemon = new Instance();
            try
            {
                string etc = Path.Combine(daemon.Directory, "etc");
                string home = Path.Combine(daemon.Directory, "home");
                System.IO.Directory.CreateDirectory(etc);
                System.IO.Directory.CreateDirectory(home);
                foreach (string pre in System.IO.Directory.GetFiles("/etc/spamassassin", "*.pre"))
                {
                    File.Copy(pre, Path.Combine(etc, Path.GetFileName(pre)));
                }

                File.WriteAllText(Path.Combine(etc, "local.cf"), "dns_available no\nskip_rbl_checks 1\nuse_bayes 0\nbayes_auto_learn 0\nrequired_score 5.0\nreport_safe 0\n");
                File.SetUnixFileMode(daemon.Directory, (UnixFileMode)0b111_101_101);
                File.SetUnixFileMode(home, (UnixFileMode)0b111_111_111 | UnixFileMode.StickyBit);
                List<string> arguments =
                [
                    "-L", "-x", "--socketpath=" + daemon.SocketPath, "--socketmode=0666",
                    "-C", "/usr/share/spamassassin", "--siteconfigpath=" + etc, "-H", home,
                    "--max-children=2", "--min-children=1", "-s", "stderr",
                ];
                if (Environment.UserName == "root")
                {
                    arguments.AddRange(["-u", "nobody"]);
                }

                await daemon.StartAsync(Program, [.. arguments], daemon.PingAsync, TimeSpan.FromSeconds(60));
                return daemon;
            }
            catch
            {
                await daemon.DisposeAsync();
                throw;
            }
        }

        private Task<bool> PingAsync() => AnswersOnSocketAsync(SocketPath, "PING SPAMC/1.5\r\n\r\n"u8.ToArray(), "PONG", TimeSpan.FromSeconds(5));
    }
}

/// <summary>SpamAssassin's test string (scores 1000) and a message that carries it.</summary>
internal static class Gtube
{
    public const string Text = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

    public static byte[] Message(string subject = "test", string extraHeaders = "") => Encoding.ASCII.GetBytes(
        $"From: sender@example.net\r\nTo: rcpt@example.org\r\nSubject: {subject}\r\n{extraHeaders}Message-ID: <{Guid.NewGuid():N}@example.net>\r\n\r\n{Text}\r\n");
}
