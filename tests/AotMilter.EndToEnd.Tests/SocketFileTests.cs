using AotMilter.EndToEnd.Tests.Harness;
using AotMilter.Mta;
using AotMilter.Testing;
using Xunit;

namespace AotMilter.EndToEnd.Tests;

/// <summary>
/// The unix socket's file between bind and exit: its owner and mode are set on the file that was bound, whatever the
/// name points to by then, and at exit only that file is removed, not a successor's.
/// </summary>
public class SocketFileTests
{
    private const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const string RootsData = "root's data\n";

    // Wraps libc's bind: right after the daemon binds SWAP_PATH, the name is replaced by a symbolic link to SWAP_TARGET,
    // as a user who can write to the socket's directory would do if it won the race between bind and chmod/chown.
    private const string SwapAfterBind = """
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/socket.h>
        #include <sys/un.h>
        #include <unistd.h>

        int bind(int fd, const struct sockaddr *address, socklen_t length)
        {
            int (*real_bind)(int, const struct sockaddr *, socklen_t) = dlsym(RTLD_NEXT, "bind");
            int rc = real_bind(fd, address, length);
            const char *path = getenv("SWAP_PATH"), *target = getenv("SWAP_TARGET");
            if (rc == 0 && address->sa_family == AF_UNIX && path && target
                && strcmp(((const struct sockaddr_un *)address)->sun_path, path) == 0)
            {
                unlink(path);
                symlink(target, path);
            }
            return rc;
        }
        """;

    [Fact]
    public async Task ASocketNameSwappedForASymlinkRightAfterBindIsRefusedAndTheLinkTargetIsUntouched()
    {
        Assert.True(Native.IsRoot, "this test starts the daemon as root");
        using var run = new TempDirectory("swap");
        Native.ChownNoFollow(run.Path, 65534, 65534);
        using var elsewhere = new TempDirectory("swap-target");
        string target = elsewhere.Combine("root-only");
        await File.WriteAllTextAsync(target, RootsData);
        File.SetUnixFileMode(target, Mode0600);
        string socket = run.Combine("m.sock");
        string shim = await CompileAsync(elsewhere, "swap-after-bind", SwapAfterBind);

        await using var daemon = DaemonProcess.Start(
            new Dictionary<string, string> { ["LD_PRELOAD"] = shim, ["SWAP_PATH"] = socket, ["SWAP_TARGET"] = target },
            "-p", $"unix:{socket}", "-f", "log", "-u", "nobody", "--socket-mode", "0666");
        bool exited = await daemon.WaitForExitAsync(TimeSpan.FromSeconds(15));

        FileFacts facts = FileFacts.Of(target);
        Assert.Equal(RootsData, await File.ReadAllTextAsync(target));
        Assert.Equal((0u, 0u, Mode0600), (facts.Owner, facts.Group, facts.Mode));
        Assert.Equal(FileFacts.SymbolicLink, FileFacts.Of(socket).Type);
        Assert.True(exited && daemon.ExitCode != 0, $"the daemon must refuse to go on.\n{daemon.Describe()}");
        Assert.Contains($"{socket} is a symbolic link, not the socket bound there", daemon.Output);
    }

    [Fact]
    public async Task AnInstanceThatFinishesDrainingAfterItsSuccessorBoundThePathLeavesTheSuccessorsSocketInPlace()
    {
        using var dir = new TempDirectory("restart");
        var endpoint = MilterEndpoint.Unix(dir.Combine("m.sock"));
        string socket = ((UnixMilterEndpoint)endpoint).Path;

        // The old instance is told to stop while an MTA connection is open: it stops listening, then waits for it.
        await using MilterDaemon old = await MilterDaemon.StartAsync("log", endpoint, "--shutdown-grace", "60");
        MilterClient inFlight = await MilterClient.ConnectAsync(endpoint.ForAotMilter);
        await inFlight.NegotiateAsync();
        Native.Signal(old.ProcessId, Native.SIGTERM);
        await WaitUntilAsync(() => old.Output.Contains("shutting down: waiting up to", StringComparison.Ordinal), old.Describe);

        // Its successor finds the socket file stale (nothing listens on it), replaces it and listens.
        await using MilterDaemon successor = await MilterDaemon.StartAsync("log", endpoint);
        ulong successorsInode = FileFacts.Of(socket).Inode;

        // The MTA closes its connection: the old instance has drained and exits.
        await inFlight.QuitAsync();
        await inFlight.DisposeAsync();
        await WaitUntilAsync(() => old.HasExited, old.Describe);

        Assert.True(File.Exists(socket), $"the successor's socket was removed by the instance it replaced.\n{old.Describe()}");
        Assert.Equal(successorsInode, FileFacts.Of(socket).Inode);
        await using MilterClient mta = await MilterClient.ConnectAsync(endpoint.ForAotMilter);
        Assert.Equal(6u, (await mta.NegotiateAsync()).Version);
        Assert.Contains($"left {socket} in place at exit: it is another file now", old.Output);
    }

    private static async Task<string> CompileAsync(TempDirectory dir, string name, string source)
    {
        string c = dir.Combine($"{name}.c"), library = dir.Combine($"{name}.so");
        await File.WriteAllTextAsync(c, source);
        ProcessResult built = await ProcessRunner.RunAsync("gcc", ["-shared", "-fPIC", "-o", library, c], TimeSpan.FromMinutes(1));
        built.EnsureSuccess("compiling the bind wrapper");
        return library;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, Func<string> describe)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(20); DateTime.UtcNow < deadline; await Task.Delay(25))
        {
            if (condition())
            {
                return;
            }
        }

        throw new TimeoutException(describe());
    }
}
