namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>Where the Postfix programs are.</summary>
public sealed record PostfixTools(string Postfix, string Postconf, string Postqueue, string DaemonDirectory);

/// <summary>Where the unpacked Sendmail binary and its m4 configuration kit are.</summary>
public sealed record SendmailTools(string Sendmail, string CfRoot, string M4);

/// <summary>The OCI runtime and the image unpacker the container tests use.</summary>
public sealed record ContainerTools(string Runc, string Umoci);

/// <summary>
/// Checks and, where possible, installs what the end-to-end tests need. Runs at most once per test run (the results,
/// including failures, are cached) and serialises every apt call.
/// <list type="bullet">
/// <item>Postfix: the Debian package, installed with the debconf answer "No configuration" so the system instance is
/// never configured or started. Each test instance gets its own configuration directory.</item>
/// <item>Sendmail: Debian's sendmail packages conflict with postfix, so their .debs are only downloaded and unpacked
/// into a cache directory (default /var/cache/aotmilter-test/sendmail, override with AOTMILTER_TEST_CACHE); m4 and
/// the libraries the binary links against are installed normally. Sendmail runs inside <c>unshare -m --uts</c>.</item>
/// <item>The container image: Debian's runc (the OCI runtime; crun refuses this kind of host's cgroup "hybrid" mode)
/// and umoci (unpacks an OCI image layout into a runtime bundle).</item>
/// </list>
/// A missing prerequisite is a test failure with an explanation, never a skip.
/// </summary>
public static class Prerequisites
{
    private static readonly TimeSpan AptTimeout = TimeSpan.FromMinutes(10);
    private static readonly SemaphoreSlim AptGate = new(1, 1);

    // Run-time libraries of Debian 12's sendmail-bin (its Depends minus the sendmail packages themselves).
    private static readonly string[] SendmailRuntimePackages =
        ["m4", "libwrap0", "libdb5.3", "libldap-2.5-0", "liblockfile1", "libnsl2", "libsasl2-2", "libssl3"];

    private static readonly string[] SendmailDebs = ["sendmail-bin", "sendmail-base", "sendmail-cf"];

    private static readonly Lazy<Task<PostfixTools>> PostfixTask = new(EnsurePostfixAsync);
    private static readonly Lazy<Task<SendmailTools>> SendmailTask = new(EnsureSendmailAsync);
    private static readonly Lazy<Task<ContainerTools>> ContainerTask = new(EnsureContainerToolsAsync);

    public static Task<PostfixTools> PostfixAsync() => PostfixTask.Value;

    public static Task<SendmailTools> SendmailAsync() => SendmailTask.Value;

    public static Task<ContainerTools> ContainerToolsAsync() => ContainerTask.Value;

    public static string SendmailCacheDirectory =>
        Environment.GetEnvironmentVariable("AOTMILTER_TEST_CACHE") is { Length: > 0 } cache
            ? Path.Combine(cache, "sendmail")
            : "/var/cache/aotmilter-test/sendmail";

    private static void RequireRoot()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("end-to-end tests run real Postfix/Sendmail and need Linux (Debian).");
        }

        if (!Native.IsRoot)
        {
            throw new InvalidOperationException(
                "end-to-end tests must run as root: they install postfix/m4 with apt-get, start Postfix instances and run "
                + "Sendmail in its own mount namespace.");
        }
    }

    private static async Task<PostfixTools> EnsurePostfixAsync()
    {
        RequireRoot();
        var tools = new PostfixTools("/usr/sbin/postfix", "/usr/sbin/postconf", "/usr/sbin/postqueue", "/usr/lib/postfix/sbin");
        if (!PostfixPresent(tools))
        {
            // Preseed so the package does not ask and does not write /etc/postfix/main.cf or start a system instance.
            (await RunAptAsync("debconf-set-selections", [], "postfix postfix/main_mailer_type select No configuration\n"))
                .EnsureSuccess("preseeding debconf for postfix");
            await AptInstallAsync(["postfix"]);
            if (!PostfixPresent(tools))
            {
                throw new InvalidOperationException(
                    $"apt-get installed postfix but {tools.Postfix} or {tools.DaemonDirectory}/smtpd is still missing.");
            }
        }

        return tools;
    }

    private static bool PostfixPresent(PostfixTools tools) =>
        File.Exists(tools.Postfix) && File.Exists(tools.Postconf) && File.Exists(tools.Postqueue)
        && File.Exists(Path.Combine(tools.DaemonDirectory, "smtpd"))
        && File.Exists("/etc/postfix/postfix-files");

    private static async Task<SendmailTools> EnsureSendmailAsync()
    {
        RequireRoot();
        await RequireNamespacesAsync();
        var missing = await MissingPackagesAsync(SendmailRuntimePackages);
        if (missing.Count > 0)
        {
            await AptInstallAsync(missing);
        }

        var root = Path.Combine(SendmailCacheDirectory, "root");
        var tools = new SendmailTools(
            Path.Combine(root, "usr/libexec/sendmail/sendmail"), Path.Combine(root, "usr/share/sendmail/cf"), "/usr/bin/m4");
        if (!File.Exists(tools.Sendmail) || !File.Exists(Path.Combine(tools.CfRoot, "m4/cf.m4")))
        {
            await DownloadAndUnpackSendmailAsync(root);
        }

        if (!File.Exists(tools.Sendmail) || !File.Exists(Path.Combine(tools.CfRoot, "m4/cf.m4")))
        {
            throw new InvalidOperationException($"sendmail binary or cf/m4/cf.m4 missing after unpacking into {root}.");
        }

        var ldd = await ProcessRunner.RunAsync("ldd", [tools.Sendmail], TimeSpan.FromSeconds(30));
        if (ldd.StdOut.Contains("not found", StringComparison.Ordinal))
        {
            throw new InvalidOperationException(
                $"{tools.Sendmail} needs libraries that are not installed (install them with apt-get):\n{ldd.StdOut}");
        }

        return tools;
    }

    private static async Task<ContainerTools> EnsureContainerToolsAsync()
    {
        RequireRoot();
        var tools = new ContainerTools("/usr/sbin/runc", "/usr/bin/umoci");
        var missing = await MissingPackagesAsync(["runc", "umoci"]);
        if (missing.Count > 0)
        {
            await AptInstallAsync(missing);
        }

        foreach (var program in new[] { tools.Runc, tools.Umoci })
        {
            if (!File.Exists(program))
            {
                throw new InvalidOperationException($"apt-get installed runc and umoci but {program} is missing.");
            }
        }

        return tools;
    }

    private static async Task RequireNamespacesAsync()
    {
        var probe = await ProcessRunner.RunAsync("unshare", ["-m", "--uts", "/bin/true"], TimeSpan.FromSeconds(30));
        if (!probe.Succeeded)
        {
            throw new InvalidOperationException(
                "Sendmail is run inside `unshare -m --uts` (private /etc/hosts and hostname, so it never queries DNS), "
                + $"but this machine does not allow creating mount/UTS namespaces: {probe}");
        }
    }

    private static async Task DownloadAndUnpackSendmailAsync(string root)
    {
        var cache = SendmailCacheDirectory;
        var debs = Path.Combine(cache, "debs");
        Directory.CreateDirectory(debs);
        foreach (var directory in new[] { Path.GetDirectoryName(cache)!, cache, debs })
        {
            File.SetUnixFileMode(directory, (UnixFileMode)0b111_101_101); // 0755
        }

        foreach (var stale in Directory.GetFiles(debs, "*.deb"))
        {
            File.Delete(stale);
        }

        // apt-get download fetches the .debs only; nothing is installed (sendmail-bin would remove postfix).
        await AptAsync(["download", .. SendmailDebs], debs, "download the sendmail .debs");
        var staging = $"{root}.tmp-{Environment.ProcessId}";
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }

        Directory.CreateDirectory(staging);
        foreach (var deb in Directory.GetFiles(debs, "*.deb"))
        {
            (await ProcessRunner.RunAsync("dpkg-deb", ["-x", deb, staging], TimeSpan.FromMinutes(2)))
                .EnsureSuccess($"unpacking {deb}");
        }

        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }

        Directory.Move(staging, root);
    }

    private static async Task<List<string>> MissingPackagesAsync(IReadOnlyList<string> packages)
    {
        // One line per known package; unknown ones only produce an error on stderr (and count as missing).
        var query = await ProcessRunner.RunAsync(
            "dpkg-query", ["-W", "-f=${Package} ${Status}\n", .. packages], TimeSpan.FromSeconds(30));
        var installed = query.StdOut.Split('\n')
            .Where(line => line.EndsWith(" ok installed", StringComparison.Ordinal))
            .Select(line => line.Split(' ')[0].Split(':')[0])
            .ToHashSet();
        return [.. packages.Where(p => !installed.Contains(p))];
    }

    private static Task AptInstallAsync(IReadOnlyList<string> packages) =>
        AptAsync(["install", "-y", "--no-install-recommends", .. packages], null, $"install {string.Join(' ', packages)}");

    /// <summary>Runs apt-get; on failure refreshes the package lists once and retries.</summary>
    private static async Task AptAsync(string[] arguments, string? workingDirectory, string what)
    {
        string[] withLockWait = ["-o", "DPkg::Lock::Timeout=300", .. arguments];
        var result = await RunAptAsync("apt-get", withLockWait, null, workingDirectory);
        if (result.Succeeded)
        {
            return;
        }

        var update = await RunAptAsync("apt-get", ["-o", "DPkg::Lock::Timeout=300", "update"], null);
        result = await RunAptAsync("apt-get", withLockWait, null, workingDirectory);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException(
                $"end-to-end prerequisites: apt-get could not {what}.\n{result}\n(after `apt-get update`: {update})");
        }
    }

    private static async Task<ProcessResult> RunAptAsync(
        string program, string[] arguments, string? input, string? workingDirectory = null)
    {
        await AptGate.WaitAsync();
        try
        {
            return await ProcessRunner.RunAsync(
                program,
                arguments,
                AptTimeout,
                input,
                new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" },
                workingDirectory);
        }
        finally
        {
            AptGate.Release();
        }
    }
}
