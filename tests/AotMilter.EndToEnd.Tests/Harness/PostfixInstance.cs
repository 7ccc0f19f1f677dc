namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>
/// A private Postfix instance: its own configuration, queue and log in a temp directory, smtpd on 127.0.0.1:PORT
/// passing every session through the milter, and every accepted message relayed to an in-process
/// <see cref="SmtpSink"/>. No DNS, no system instance touched (the system's /etc/postfix/main.cf is never read or
/// written). Dispose stops the instance and removes its directory.
/// </summary>
public sealed class PostfixInstance : IMtaInstance
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    private readonly PostfixTools _tools;
    private readonly TempDirectory _state;
    private bool _started;

    private PostfixInstance(PostfixTools tools, TempDirectory state, PostfixOptions options, SmtpSink sink, int port)
    {
        _tools = tools;
        _state = state;
        Options = options;
        Sink = sink;
        SmtpPort = port;
    }

    public PostfixOptions Options { get; }

    /// <summary>Where the instance relays accepted mail.</summary>
    public SmtpSink Sink { get; }

    /// <summary>smtpd listens on 127.0.0.1:SmtpPort.</summary>
    public int SmtpPort { get; }

    public string StateDirectory => _state.Path;

    public string ConfigDirectory => _state.Combine("etc");

    public string MaillogPath => _state.Combine("maillog");

    public static async Task<PostfixInstance> StartAsync(PostfixOptions options)
    {
        var tools = await Prerequisites.PostfixAsync();
        await StaleInstances.CleanUpOnceAsync();
        var state = new TempDirectory("postfix");
        var instance = new PostfixInstance(tools, state, options, SmtpSink.Start(), Ports.GetFree());
        try
        {
            await instance.StartCoreAsync();
        }
        catch
        {
            await instance.DisposeAsync();
            throw;
        }

        return instance;
    }

    /// <summary>Opens an SMTP session to this instance's smtpd; returns the client and the greeting.</summary>
    public Task<(SmtpClient Client, SmtpReply Greeting)> ConnectAsync() => SmtpClient.ConnectAsync(SmtpPort);

    /// <summary>Connects, runs one transaction (see <see cref="SmtpClient.SendAsync"/>) and quits.</summary>
    public async Task<SmtpTransaction> SendAsync(string from, IEnumerable<string> recipients, byte[] message, string helo = "client.aotmilter.test")
    {
        var (client, greeting) = await ConnectAsync();
        await using (client)
        {
            if (greeting.Code != 220)
            {
                throw new InvalidOperationException($"Postfix greeted with {greeting}.\n{client.Transcript}");
            }

            var result = await client.SendAsync(from, recipients, message, helo);
            await client.QuitAsync();
            return result;
        }
    }

    /// <summary>
    /// Waits until the sink holds at least <paramref name="count"/> messages and Postfix's queue is empty; throws with
    /// the queue listing and the maillog on timeout.
    /// </summary>
    public async Task WaitForDeliveryAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (Sink.Count >= count && await QueueIsEmptyAsync())
            {
                return;
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException(
                    $"{Sink.Count}/{count} message(s) delivered within {timeout.TotalSeconds:0}s.\n{await QueueListingAsync()}\n{Describe()}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Waits for the delivery of <paramref name="message"/>; throws with the queue and maillog on timeout.</summary>
    public Task<SinkMessage> WaitForMessageAsync(TestMessage message, TimeSpan timeout) =>
        WaitForAsync(message.Matches, timeout, $"message {message.MessageId}");

    public async Task<SinkMessage> WaitForAsync(Func<SinkMessage, bool> predicate, TimeSpan timeout, string what)
    {
        var delivered = await Sink.WaitForAsync(predicate, timeout);
        return delivered ?? throw new TimeoutException(
            $"{what} not delivered to the sink within {timeout.TotalSeconds:0}s.\n"
            + $"{await QueueListingAsync()}\n{Describe()}");
    }

    public string Name => "Postfix";

    string IMtaInstance.ReadLog() => ReadMaillog();

    public async Task<bool> QueueIsEmptyAsync() =>
        (await QueueListingAsync()).Contains("Mail queue is empty", StringComparison.Ordinal);

    /// <summary><c>postqueue -p</c> of this instance.</summary>
    public async Task<string> QueueListingAsync()
    {
        var result = await ProcessRunner.RunAsync(_tools.Postqueue, ["-c", ConfigDirectory, "-p"], CommandTimeout);
        return result.StdOut + result.StdErr;
    }

    /// <summary>The instance's log (maillog_file), empty if nothing was logged yet.</summary>
    public string ReadMaillog()
    {
        try
        {
            return File.ReadAllText(MaillogPath);
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>Text for failure messages: configuration summary, maillog and the sink's transcript.</summary>
    public string Describe() =>
        $"--- postfix {StateDirectory}: smtpd 127.0.0.1:{SmtpPort}, milter {Options.Milter?.ForPostfix ?? "none"}, "
        + $"milter_default_action={Options.DefaultAction} ---\n--- postfix maillog ---\n{ReadMaillog().TrimEnd()}\n{Sink.Describe()}";

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_started)
            {
                await StopAsync();
            }
        }
        finally
        {
            await Sink.DisposeAsync();
            _state.Dispose();
        }
    }

    private async Task StartCoreAsync()
    {
        var spool = _state.CreateSubdirectory("spool");
        var data = _state.CreateSubdirectory("data");
        _state.CreateSubdirectory("etc");
        (await ProcessRunner.RunAsync("chown", ["postfix:postfix", data], CommandTimeout)).EnsureSuccess("chown of data_directory");
        File.SetUnixFileMode(data, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await File.WriteAllTextAsync(Path.Combine(ConfigDirectory, "main.cf"), MainCf(spool, data));
        await File.WriteAllTextAsync(Path.Combine(ConfigDirectory, "master.cf"), MasterCf());
        foreach (var (name, value) in Options.Settings)
        {
            (await Postfix(_tools.Postconf, "-e", $"{name} = {value}")).EnsureSuccess($"postconf -e '{name} = {value}'");
        }

        _started = true; // from here on, dispose runs `postfix stop`
        // `postfix start` runs `postfix check` itself and fails with its complaints.
        (await Postfix(_tools.Postfix, "start")).EnsureSuccess("postfix start");
        var deadline = DateTime.UtcNow + StartTimeout;
        while (!await Ports.IsOpenAsync(SmtpPort))
        {
            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException($"Postfix smtpd did not listen on 127.0.0.1:{SmtpPort} within {StartTimeout.TotalSeconds:0}s.\n{Describe()}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>
    /// <c>postfix stop</c>: SIGTERM to the master, which terminates its process group; the command returns once the
    /// master is gone (after at most about 5 s it kills the group). (The harness does not read master.pid itself: the
    /// master holds an exclusive lock on it, and .NET refuses to open a file locked that way.)
    /// </summary>
    private async Task StopAsync()
    {
        var stop = await Postfix(_tools.Postfix, "stop");
        if (!stop.Succeeded && !stop.StdErr.Contains("not running", StringComparison.Ordinal))
        {
            await Postfix(_tools.Postfix, "abort");
        }
    }

    private Task<ProcessResult> Postfix(string program, params string[] arguments) =>
        ProcessRunner.RunAsync(program, ["-c", ConfigDirectory, .. arguments], CommandTimeout);

    private string MainCf(string spool, string data) => $"""
        # Generated by the AotMilter end-to-end tests: private instance, no DNS, everything relayed to the test sink.
        compatibility_level = 3.6
        queue_directory = {spool}
        data_directory = {data}
        command_directory = /usr/sbin
        daemon_directory = {_tools.DaemonDirectory}
        meta_directory = /etc/postfix
        shlib_directory = /usr/lib/postfix
        mail_owner = postfix
        setgid_group = postdrop
        myhostname = mta.e2e.test
        mydomain = e2e.test
        myorigin = $myhostname
        mydestination =
        local_recipient_maps =
        alias_maps =
        alias_database =
        relay_domains =
        relayhost = [127.0.0.1]:{Sink.Port}
        mynetworks = 127.0.0.0/8
        inet_interfaces = 127.0.0.1
        inet_protocols = ipv4
        smtpd_banner = $myhostname ESMTP aotmilter-e2e
        smtpd_relay_restrictions = permit_mynetworks, reject
        smtpd_peername_lookup = no
        smtp_dns_support_level = disabled
        smtp_host_lookup = native
        smtp_tls_security_level = none
        smtpd_tls_security_level = none
        smtp_connect_timeout = 5s
        queue_run_delay = 5s
        minimal_backoff_time = 5s
        maximal_backoff_time = 10s
        delay_warning_time = 0
        notify_classes =
        biff = no
        smtpd_milters = {Options.Milter?.ForPostfix ?? ""}
        non_smtpd_milters =
        milter_default_action = {Options.DefaultAction}
        milter_protocol = 6
        maillog_file = {MaillogPath}
        maillog_file_prefixes = {StateDirectory}

        """;

    private string MasterCf() => $"""
        # service type private unpriv chroot wakeup maxproc command
        127.0.0.1:{SmtpPort} inet n - n - - smtpd
        pickup    unix  n - n 60 1 pickup
        cleanup   unix  n - n - 0 cleanup
        qmgr      unix  n - n 300 1 qmgr
        tlsmgr    unix  - - n 1000? 1 tlsmgr
        rewrite   unix  - - n - - trivial-rewrite
        bounce    unix  - - n - 0 bounce
        defer     unix  - - n - 0 bounce
        trace     unix  - - n - 0 bounce
        verify    unix  - - n - 1 verify
        flush     unix  n - n 1000? 0 flush
        proxymap  unix  - - n - - proxymap
        proxywrite unix - - n - 1 proxymap
        smtp      unix  - - n - - smtp
        relay     unix  - - n - - smtp
        showq     unix  n - n - - showq
        error     unix  - - n - - error
        retry     unix  - - n - - error
        discard   unix  - - n - - discard
        local     unix  - n n - - local
        virtual   unix  - n n - - virtual
        lmtp      unix  - - n - - lmtp
        anvil     unix  - - n - 1 anvil
        scache    unix  - - n - 1 scache
        postlog   unix-dgram n - n - 1 postlogd

        """;
}
