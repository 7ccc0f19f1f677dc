using System.Text;

namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>
/// A private Sendmail configuration (sendmail.mc → m4 → sendmail.cf in a temp directory) whose SMTP sessions are
/// <c>sendmail -bs -odi</c> child processes: SMTP over stdin/stdout, every session through the milter, accepted mail
/// delivered at once to an in-process <see cref="SmtpSink"/>.
/// <para>
/// Every sendmail process runs through a wrapper script inside <c>unshare -m --uts</c>: a private /etc/hosts,
/// nsswitch.conf ("hosts: files") and hostname, because Sendmail qualifies its own host name at start-up and, with an
/// unqualified name, queries DNS and then sleeps 60 s. The wrapper also gives it a private /dev with /dev/log pointing
/// at a <see cref="SyslogSink"/>, so that the instance's syslog output can be shown when a test fails.
/// </para>
/// </summary>
public sealed class SendmailInstance : IMtaInstance
{
    public const string HostName = "sm.e2e.test";

    private readonly SendmailTools _tools;
    private readonly TempDirectory _state;
    private readonly StringBuilder _sessionLog = new();
    private SyslogSink? _syslog;

    private SendmailInstance(SendmailTools tools, TempDirectory state, SendmailOptions options, SmtpSink sink)
    {
        _tools = tools;
        _state = state;
        Options = options;
        Sink = sink;
    }

    public SendmailOptions Options { get; }

    /// <summary>Where the instance relays accepted mail.</summary>
    public SmtpSink Sink { get; }

    public string StateDirectory => _state.Path;

    public string QueueDirectory => _state.Combine("queue");

    /// <summary>The namespace wrapper; arguments are passed to sendmail (after -C sendmail.cf).</summary>
    public string WrapperPath => _state.Combine("sm-ns.sh");

    public static async Task<SendmailInstance> StartAsync(SendmailOptions options)
    {
        var tools = await Prerequisites.SendmailAsync();
        await StaleInstances.CleanUpOnceAsync();
        var state = new TempDirectory("sendmail");
        var instance = new SendmailInstance(tools, state, options, SmtpSink.Start());
        try
        {
            await instance.PrepareAsync();
        }
        catch
        {
            await instance.DisposeAsync();
            throw;
        }

        return instance;
    }

    /// <summary>Starts <c>sendmail -bs -odi</c> and returns the SMTP client on its stdin/stdout and the greeting.</summary>
    public Task<(SmtpClient Client, SmtpReply Greeting)> ConnectAsync() =>
        SmtpClient.StartProcessAsync("unshare", ["-m", "--uts", WrapperPath, "-bs", "-odi"], LogSession);

    /// <summary>Runs one transaction in a fresh <c>sendmail -bs</c> session (see <see cref="SmtpClient.SendAsync"/>) and quits.</summary>
    public async Task<SmtpTransaction> SendAsync(string from, IEnumerable<string> recipients, byte[] message, string helo = "client.aotmilter.test")
    {
        var (client, greeting) = await ConnectAsync();
        await using (client)
        {
            if (greeting.Code != 220)
            {
                throw new InvalidOperationException($"sendmail -bs greeted with {greeting}.\n{client.Transcript}\n{Describe()}");
            }

            var result = await client.SendAsync(from, recipients, message, helo);
            await client.QuitAsync();
            LogSession("session:\n" + client.Transcript);
            return result;
        }
    }

    /// <summary>Waits until the sink holds at least <paramref name="count"/> messages and the queue holds none.</summary>
    public async Task WaitForDeliveryAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Sink.Count < count || QueuedMessages().Length > 0)
        {
            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException(
                    $"{Sink.Count}/{count} message(s) delivered within {timeout.TotalSeconds:0}s; queued: "
                    + $"{string.Join(", ", QueuedMessages())}.\n{Describe()}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Waits for the delivery of <paramref name="message"/>; throws with the logs on timeout.</summary>
    public Task<SinkMessage> WaitForMessageAsync(TestMessage message, TimeSpan timeout) =>
        WaitForAsync(message.Matches, timeout, $"message {message.MessageId}");

    public async Task<SinkMessage> WaitForAsync(Func<SinkMessage, bool> predicate, TimeSpan timeout, string what)
    {
        var delivered = await Sink.WaitForAsync(predicate, timeout);
        return delivered ?? throw new TimeoutException(
            $"{what} not delivered to the sink within {timeout.TotalSeconds:0}s; queued: "
            + $"{string.Join(", ", QueuedMessages())}.\n{Describe()}");
    }

    public string Name => "Sendmail";

    /// <summary>Sendmail's syslog output plus the sessions' transcripts and stderr.</summary>
    public string ReadLog()
    {
        lock (_sessionLog)
        {
            return $"{_syslog?.Text}\n--- sendmail sessions ---\n{_sessionLog}";
        }
    }

    public string Describe() =>
        $"--- sendmail {StateDirectory}: milter {Options.Milter.ForSendmail}, default action {Options.DefaultAction} ---\n"
        + $"--- sendmail log ---\n{ReadLog().TrimEnd()}\n{Sink.Describe()}";

    public async ValueTask DisposeAsync()
    {
        await Sink.DisposeAsync();
        if (_syslog is not null)
        {
            await _syslog.DisposeAsync();
        }

        _state.Dispose();
    }

    private string[] QueuedMessages() =>
        Directory.Exists(QueueDirectory) ? [.. Directory.GetFiles(QueueDirectory, "qf*").Select(f => Path.GetFileName(f))] : [];

    private void LogSession(string line)
    {
        lock (_sessionLog)
        {
            _sessionLog.AppendLine(line);
        }
    }

    private async Task PrepareAsync()
    {
        var queue = _state.CreateSubdirectory("queue");
        File.SetUnixFileMode(queue, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _syslog = SyslogSink.Start(_state.Combine("log.sock"));
        await File.WriteAllTextAsync(_state.Combine("aliases"), "");
        await File.WriteAllTextAsync(_state.Combine("service.switch"), "hosts\tfiles\naliases\tfiles\n");
        await File.WriteAllTextAsync(
            _state.Combine("hosts"), $"127.0.0.1 {HostName} sm localhost\n::1 {HostName} sm localhost ip6-localhost\n");
        await File.WriteAllTextAsync(
            _state.Combine("nsswitch.conf"),
            "passwd: files\ngroup: files\nshadow: files\nhosts: files\nnetworks: files\nservices: files\nprotocols: files\n");
        await File.WriteAllTextAsync(_state.Combine("sendmail.mc"), SendmailMc());
        var m4 = await ProcessRunner.RunAsync(_tools.M4, [_state.Combine("sendmail.mc")], TimeSpan.FromSeconds(60));
        m4.EnsureSuccess("m4 sendmail.mc");
        await File.WriteAllTextAsync(_state.Combine("sendmail.cf"), m4.StdOut);
        await File.WriteAllTextAsync(WrapperPath, Wrapper());
        File.SetUnixFileMode(WrapperPath, (UnixFileMode)0b111_101_101); // 0755
    }

    private string SendmailMc()
    {
        var flags = Options.DefaultAction switch
        {
            "tempfail" => "F=T, ",
            "reject" => "F=R, ",
            "accept" => "",
            _ => throw new ArgumentException($"unknown Sendmail default action '{Options.DefaultAction}'"),
        };
        var sd = StateDirectory;
        var extra = string.Join('\n', Options.ExtraMcLines);
        return $"""
            divert(-1)
            # Generated by the AotMilter end-to-end tests: relay everything to the test sink, no DNS. The load-average limits
            # are out of reach so that a busy test machine never makes sendmail queue (or refuse) instead of delivering.
            divert(0)dnl
            include(`{_tools.CfRoot}/m4/cf.m4')dnl
            VERSIONID(`aotmilter-e2e')dnl
            OSTYPE(`linux')dnl
            define(`confDOMAIN_NAME', `{HostName}')dnl
            define(`confDONT_PROBE_INTERFACES', `True')dnl
            define(`QUEUE_DIR', `{sd}/queue')dnl
            define(`confPID_FILE', `{sd}/sendmail.pid')dnl
            define(`STATUS_FILE', `{sd}/statistics')dnl
            define(`ALIAS_FILE', `{sd}/aliases')dnl
            define(`confSERVICE_SWITCH_FILE', `{sd}/service.switch')dnl
            define(`confDEF_USER_ID', `nobody:nogroup')dnl
            define(`confTO_IDENT', `0')dnl
            define(`confDONT_BLAME_SENDMAIL', `TrustStickyBit')dnl
            define(`confLOG_LEVEL', `9')dnl
            define(`confQUEUE_LA', `10000')dnl
            define(`confREFUSE_LA', `10000')dnl
            define(`confDELAY_LA', `10000')dnl
            define(`confMILTER_LOG_LEVEL', `9')dnl
            define(`SMART_HOST', `[127.0.0.1]')dnl
            define(`RELAY_MAILER_ARGS', `TCP $h {Sink.Port}')dnl
            define(`ESMTP_MAILER_ARGS', `TCP $h {Sink.Port}')dnl
            define(`SMTP_MAILER_ARGS', `TCP $h {Sink.Port}')dnl
            FEATURE(`nocanonify')dnl
            FEATURE(`promiscuous_relay')dnl
            FEATURE(`accept_unresolvable_domains')dnl
            FEATURE(`accept_unqualified_senders')dnl
            {extra}
            INPUT_MAIL_FILTER(`aotmilter', `S={Options.Milter.ForSendmail}, {flags}T={Options.Timeouts}')dnl
            MAILER(`smtp')dnl

            """;
    }

    private string Wrapper()
    {
        var sd = StateDirectory;
        return $$"""
            #!/bin/sh
            # Runs inside `unshare -m --uts` (a private mount and UTS namespace): gives sendmail a private /etc/hosts,
            # nsswitch.conf and hostname so it never queries DNS, and a /dev whose /dev/log is this instance's syslog
            # socket. Then execs sendmail with this instance's configuration and the given arguments.
            sd='{{sd}}'
            mount --bind "$sd/hosts" /etc/hosts && mount --bind "$sd/nsswitch.conf" /etc/nsswitch.conf \
              && hostname {{HostName}} || { echo "sm-ns: cannot set up the namespace" >&2; exit 71; }
            private_dev() {
              mkdir -p "$sd/hostdev" && mount --rbind /dev "$sd/hostdev" || return 1
              mount -t tmpfs -o mode=0755 e2edev /dev || return 1
              for n in null zero full random urandom tty; do
                [ -e "$sd/hostdev/$n" ] || continue
                : > "/dev/$n" && mount --bind "$sd/hostdev/$n" "/dev/$n" || { umount -l /dev; return 1; }
              done
              ln -s /proc/self/fd /dev/fd && ln -s /proc/self/fd/0 /dev/stdin && ln -s /proc/self/fd/1 /dev/stdout \
                && ln -s /proc/self/fd/2 /dev/stderr && ln -s "$sd/log.sock" /dev/log
            }
            private_dev || echo "sm-ns: no private /dev; sendmail's syslog output will not be captured" >&2
            exec '{{_tools.Sendmail}}' -C "$sd/sendmail.cf" "$@"

            """;
    }
}
