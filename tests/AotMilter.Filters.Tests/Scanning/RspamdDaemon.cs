using System.Net;
using System.Net.Sockets;
using Xunit;

namespace AotMilter.Filters.Tests.Scanning;

/// <summary>
/// A private rspamd (Debian's package, its stock configuration) redirected into its own directory: the normal
/// worker on a free loopback port, no controller or proxy, every module that would fetch maps or ask the network
/// disabled, its DNS resolver pointed at 127.0.0.1:1 (nothing answers; no packet leaves the machine). Two rules of the
/// tests' own (<c>rspamd.local.lua</c>) let a message choose its score (<c>X-Test-Score</c>), force an action
/// (<c>X-Test-Action</c>) or ask for a milter block (<c>X-Test-Milter</c>), so every action can be reached.
/// The first start on a machine compiles rspamd's regular expressions (tens of seconds on two cores); the compiled
/// cache is kept in the temporary directory for the next runs. A test class shares one.
/// </summary>
public class RspamdDaemon : IAsyncLifetime
{
    public const string Program = "/usr/bin/rspamd";

    // Modules that fetch remote maps or updates, or make DNS and network checks.
    private static readonly string[] Disabled =
    [
        "rbl", "surbl", "whitelist", "phishing", "multimap", "mime_types", "rspamd_update", "mid", "fuzzy_check", "asn",
        "dkim", "dkim_signing", "arc", "spf", "dmarc", "hfilter", "emails", "dcc", "url_redirector", "neural", "ratelimit",
        "greylist", "replies", "history_redis", "reputation", "bimi", "mx_check", "external_services", "antivirus",
        "clickhouse", "elastic", "metadata_exporter", "metric_exporter", "p0f", "spamtrap", "aws_s3", "maps_stats",
    ];

    private const string TestRules = """
        rspamd_config.AOTM_TEST_SCORE = {
          callback = function(task)
            local h = task:get_header('X-Test-Score')
            if h then return true, tonumber(h) or 0 end
            return false
          end,
          score = 1.0,
          description = 'Score from the X-Test-Score header (tests only)',
        }
        rspamd_config:register_symbol({
          name = 'AOTM_TEST_ACTION', type = 'prefilter', priority = 10,
          callback = function(task)
            local h = task:get_header('X-Test-Action')
            if h then task:set_pre_result(h, 'Forced by the test') end
          end,
        })
        rspamd_config.AOTM_TEST_MILTER = {
          callback = function(task)
            if task:get_header('X-Test-Milter') then
              task:set_milter_reply({
                add_headers = { ['X-Added-One'] = 'one', ['X-Added-First'] = { value = 'first', order = 0 },
                                ['X-Added-Many'] = { 'a', { value = 'b', order = -1 } } },
                remove_headers = { ['X-Remove-All'] = 0, ['X-Remove-Second'] = 2, ['X-Remove-Last'] = -1 },
              })
              return true
            end
            return false
          end,
          score = 0.0,
        }
        """;

    private Instance? _instance;

    /// <summary>Null when rspamd can run here; otherwise why the test skips.</summary>
    public static string? Missing => File.Exists(Program) && File.Exists("/etc/rspamd/rspamd.conf")
        ? null
        : $"{Program} is not installed (Debian package rspamd; ./build.sh test installs it)";

    /// <summary>The normal worker as the filter's address setting writes it.</summary>
    public string Address => $"http://127.0.0.1:{_instance!.Port}";

    /// <summary>rspamd's log (one line per task, with its queue id, IP and envelope).</summary>
    public string Log => _instance!.Output;

    public void Pause() => _instance!.Pause();

    public void Resume() => _instance!.Resume();

    /// <summary>The milter proxy (rspamd's own milter, scanning itself), when <see cref="WithProxy"/> started one.</summary>
    public int ProxyPort => _instance!.ProxyPort;

    /// <summary>True to start rspamd's milter proxy as well (self_scan), as an anchor for the rspamd filter.</summary>
    protected virtual bool WithProxy => false;

    public async Task InitializeAsync()
    {
        if (Missing is null)
        {
            _instance = await Instance.StartAsync(WithProxy);
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
            : base("rspamd")
        {
        }

        public int Port { get; private set; }

        public int ProxyPort { get; private set; }

        public static async Task<Instance> StartAsync(bool proxy)
        {
            var daemon = new Instance();
            try
            {
                string root = daemon.Directory;
                string local = Path.Combine(root, "local", "local.d");
                string overrides = Path.Combine(root, "local", "override.d");
                string cache = Path.Combine(Path.GetTempPath(), "aotmilter-rspamd-hscache");
                foreach (string dir in new[] { local, overrides, Path.Combine(root, "db"), Path.Combine(root, "run"), Path.Combine(root, "log"), Path.Combine(root, "tmp"), cache })
                {
                    System.IO.Directory.CreateDirectory(dir);
                }

                daemon.Port = FreePort();
                File.WriteAllText(Path.Combine(local, "options.inc"),
                    $"tempdir = \"{root}/tmp\";\nhs_cache_dir = \"{cache}/\";\ndns {{ nameserver = [\"127.0.0.1:1\"]; timeout = 0.2s; retransmits = 1; }}\n");
                // discard, quarantine and a custom action (review) have no score of their own: only a rule (here
                // X-Test-Action) can choose them.
                File.WriteAllText(Path.Combine(local, "actions.conf"),
                    "greylist = 30;\nadd_header = 60;\nrewrite_subject = 90;\nreject = 150;\nsubject = \"***SPAM*** %s\";\n"
                    + "discard = { flags = [\"no_threshold\"]; }\nquarantine = { flags = [\"no_threshold\"]; }\nreview = { flags = [\"no_threshold\"]; }\n");
                File.WriteAllText(Path.Combine(overrides, "logging.inc"), $"type = \"file\"; filename = \"{root}/log/rspamd.log\"; level = \"info\";\n");
                File.WriteAllText(Path.Combine(overrides, "worker-normal.inc"), $"bind_socket = \"127.0.0.1:{daemon.Port}\"; count = 1;\n");
                File.WriteAllText(Path.Combine(overrides, "worker-controller.inc"), "count = -1;\n");
                daemon.ProxyPort = proxy ? FreePort() : 0;
                File.WriteAllText(Path.Combine(overrides, "worker-proxy.inc"), proxy
                    ? $"bind_socket = \"127.0.0.1:{daemon.ProxyPort}\";\ncount = 1;\nmilter = yes;\ntimeout = 120s;\nupstream \"local\" {{ default = yes; self_scan = yes; }}\n"
                    : "count = -1;\n");
                foreach (string module in Disabled)
                {
                    File.WriteAllText(Path.Combine(local, module + ".conf"), "enabled = false;\n");
                }

                File.WriteAllText(Path.Combine(root, "local", "rspamd.local.lua"), TestRules);
                List<string> arguments = ["-f", "-c", "/etc/rspamd/rspamd.conf",
                    $"--var=LOCAL_CONFDIR={root}/local", $"--var=DBDIR={root}/db", $"--var=RUNDIR={root}/run", $"--var=LOGDIR={root}/log"];
                if (Environment.UserName == "root")
                {
                    arguments.Insert(1, "-i");
                }

                await daemon.StartAsync(Program, [.. arguments], daemon.PingAsync, TimeSpan.FromSeconds(180));
                return daemon;
            }
            catch
            {
                await daemon.DisposeAsync();
                throw;
            }
        }

        private static int FreePort()
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            return ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        private async Task<bool> PingAsync()
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            string pong = await http.GetStringAsync(new Uri($"http://127.0.0.1:{Port}/ping"));
            if (ProxyPort != 0)
            {
                using var proxy = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await proxy.ConnectAsync(new IPEndPoint(IPAddress.Loopback, ProxyPort));
            }

            return pong.Trim() == "pong";
        }
    }
}
