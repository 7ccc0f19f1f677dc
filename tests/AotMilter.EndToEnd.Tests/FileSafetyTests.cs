using System.Globalization;
using AotMilter.EndToEnd.Tests.Harness;
using AotMilter.Mta;
using AotMilter.Testing;
using Xunit;

namespace AotMilter.EndToEnd.Tests;

/// <summary>
/// The files the daemon touches while it is still root (pid file, run directory, log file) against the user it
/// becomes with <c>-u</c>: that user owns the run directory and may plant links or fifos there before the next start.
/// The published binary is started as root with <c>-u nobody</c>, as an admin runs it.
/// </summary>
public class FileSafetyTests
{
    private const uint Nobody = 65534;
    private const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Mode0644 = Mode0600 | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode Mode0755 = Mode0644 | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
    private const string RootsData = "root's data\n";

    [Fact]
    public async Task APidFileSymlinkPlantedByTheUserIsRefusedAndItsTargetKeepsContentModeAndOwner()
    {
        Assert.True(Native.IsRoot, "this test starts the daemon as root");
        using var run = RunDirectoryOfNobody("pid-link");
        using var elsewhere = new TempDirectory("pid-link-target");
        string target = RootOnlyFile(elsewhere);
        string pidFile = run.Combine("aotmilter.pid");
        PlantSymlink(pidFile, target);

        await using var daemon = DaemonProcess.Start("-p", $"unix:{run.Combine("m.sock")}", "-f", "log", "-u", "nobody", "--pid-file", pidFile);
        bool exited = await daemon.WaitForExitAsync(TimeSpan.FromSeconds(15));

        AssertUntouched(target);
        Assert.True(exited && daemon.ExitCode != 0, $"the daemon must refuse to start.\n{daemon.Describe()}");
        Assert.Contains($"pid file {pidFile} is a symbolic link, not a regular file", daemon.Output);
        Assert.Equal(FileFacts.SymbolicLink, FileFacts.Of(pidFile).Type);
    }

    [Fact]
    public async Task APidFileFifoIsRefusedAtOnceInsteadOfBlockingTheStart()
    {
        using var dir = new TempDirectory("pid-fifo");
        string pidFile = dir.Combine("aotmilter.pid");
        Native.MakeFifo(pidFile);

        await using var daemon = DaemonProcess.Start("-p", $"unix:{dir.Combine("m.sock")}", "-f", "log", "--allow-root", "--pid-file", pidFile);

        Assert.True(await daemon.WaitForExitAsync(TimeSpan.FromSeconds(15)), $"the daemon is stuck opening the fifo.\n{daemon.Describe()}");
        Assert.NotEqual(0, daemon.ExitCode);
        Assert.Contains($"pid file {pidFile} is a fifo, not a regular file", daemon.Output);
    }

    [Fact]
    public async Task AnOldPidFileIsReplacedByANewRootOwnedFileWhichTheUserRemovesAtExit()
    {
        Assert.True(Native.IsRoot, "this test starts the daemon as root");
        using var run = RunDirectoryOfNobody("pid-old");
        string pidFile = run.Combine("aotmilter.pid");
        await File.WriteAllTextAsync(pidFile, "1\n");
        Native.ChownNoFollow(pidFile, Nobody, Nobody);
        ulong oldInode = FileFacts.Of(pidFile).Inode;

        // The user keeps its old file open: what it writes there later must not reach the daemon's pid file.
        await using var kept = new FileStream(pidFile, FileMode.Open, FileAccess.Write);
        await using var daemon = DaemonProcess.Start("-p", $"unix:{run.Combine("m.sock")}", "-f", "log", "-u", "nobody", "--pid-file", pidFile);
        await daemon.WaitForOutputAsync("running as nobody");
        await kept.WriteAsync("1\n"u8.ToArray());
        await kept.FlushAsync();

        FileFacts written = FileFacts.Of(pidFile);
        Assert.Equal($"{daemon.ProcessId.ToString(CultureInfo.InvariantCulture)}\n", await File.ReadAllTextAsync(pidFile));
        Assert.NotEqual(oldInode, written.Inode);
        Assert.Equal((0u, 0u, Mode0644), (written.Owner, written.Group, written.Mode));

        Assert.True(await daemon.StopAsync(), daemon.Describe());
        Assert.Equal(0, daemon.ExitCode);
        Assert.False(File.Exists(pidFile), $"the daemon (now nobody) removes its pid file at exit.\n{daemon.Describe()}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ADirectoryUnderRunThatExistsBeforeTheStartIsNeverGivenToTheUser(bool aSymlinkToIt)
    {
        Assert.True(Native.IsRoot, "this test starts the daemon as root");
        using var real = new TempDirectory("run-existing");
        string dir = NewRunPath();
        if (aSymlinkToIt)
        {
            File.CreateSymbolicLink(dir, real.Path);
        }
        else
        {
            Directory.CreateDirectory(dir);
            File.SetUnixFileMode(dir, Mode0755);
        }

        try
        {
            await using var daemon = DaemonProcess.Start("-p", $"unix:{Path.Combine(dir, "m.sock")}", "-f", "log", "-u", "nobody", "--socket-mode", "0666");
            await daemon.WaitForOutputAsync("running as nobody");

            FileFacts directory = FileFacts.Of(aSymlinkToIt ? real.Path : dir);
            Assert.Equal((0u, 0u, Mode0755), (directory.Owner, directory.Group, directory.Mode));
            Assert.Equal(aSymlinkToIt ? FileFacts.SymbolicLink : FileFacts.Directory, FileFacts.Of(dir).Type);
        }
        finally
        {
            if (aSymlinkToIt)
            {
                File.Delete(dir);
            }
            else
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [Fact]
    public async Task AMissingDirectoryUnderRunIsCreatedForTheUserWhichRemovesItsFilesFromItAtExit()
    {
        Assert.True(Native.IsRoot, "this test starts the daemon as root");
        string dir = NewRunPath();
        string socket = Path.Combine(dir, "m.sock");
        string pidFile = Path.Combine(dir, "aotmilter.pid");
        try
        {
            await using var daemon = DaemonProcess.Start("-p", $"unix:{socket}", "-f", "log", "-u", "nobody", "--socket-mode", "0666", "--pid-file", pidFile);
            await daemon.WaitForOutputAsync("running as nobody");

            FileFacts directory = FileFacts.Of(dir);
            Assert.Equal((FileFacts.Directory, Nobody, Nobody, Mode0755), (directory.Type, directory.Owner, directory.Group, directory.Mode));
            Assert.Equal((FileFacts.Socket, Nobody), (FileFacts.Of(socket).Type, FileFacts.Of(socket).Owner));
            Assert.Equal((FileFacts.RegularFile, 0u), (FileFacts.Of(pidFile).Type, FileFacts.Of(pidFile).Owner));

            Assert.True(await daemon.StopAsync(), daemon.Describe());
            Assert.Equal(0, daemon.ExitCode);
            Assert.False(File.Exists(socket), $"the socket is removed at exit.\n{daemon.Describe()}");
            Assert.False(File.Exists(pidFile), $"the pid file is removed at exit.\n{daemon.Describe()}");
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [Fact]
    public async Task ALogFileSymlinkPlantedByTheUserIsRefusedAndItsTargetGetsNoLine()
    {
        Assert.True(Native.IsRoot, "this test starts the daemon as root");
        using var run = RunDirectoryOfNobody("log-link");
        using var elsewhere = new TempDirectory("log-link-target");
        string target = RootOnlyFile(elsewhere);
        string logFile = run.Combine("aotmilter.log");
        PlantSymlink(logFile, target);

        await using var daemon = DaemonProcess.Start("-p", $"unix:{run.Combine("m.sock")}", "-f", "log", "-u", "nobody", "--log-file", logFile);
        bool exited = await daemon.WaitForExitAsync(TimeSpan.FromSeconds(15));

        AssertUntouched(target);
        Assert.True(exited && daemon.ExitCode != 0, $"the daemon must refuse to start.\n{daemon.Describe()}");
        Assert.Contains($"log file {logFile} is a symbolic link; refusing to follow it", daemon.Output);
    }

    [Fact]
    public async Task AfterCopytruncateTheLogFileGoesOnFromItsNewEndWithoutNulBytes()
    {
        using var dir = new TempDirectory("copytruncate");
        string logFile = dir.Combine("aotmilter.log");
        await using var daemon = DaemonProcess.Start("-p", $"unix:{dir.Combine("m.sock")}", "-f", "log", "--allow-root", "--log-file", logFile);
        await WaitForLogAsync(logFile, "listening on", daemon);
        Native.Signal(daemon.ProcessId, Native.SIGUSR1);
        await WaitForLogAsync(logFile, "statistics (SIGUSR1)", daemon);
        long lengthBefore = new FileInfo(logFile).Length;

        // What logrotate's copytruncate does: copy the file, then empty it in place; the daemon keeps its descriptor.
        File.Copy(logFile, logFile + ".1");
        await using (var truncate = new FileStream(logFile, FileMode.Open, FileAccess.Write))
        {
            truncate.SetLength(0);
        }

        Native.Signal(daemon.ProcessId, Native.SIGUSR1);
        await WaitForLogAsync(logFile, "statistics (SIGUSR1)", daemon);

        byte[] after = await File.ReadAllBytesAsync(logFile);
        int nuls = after.Count(b => b == 0);
        Assert.True(nuls == 0, $"{nuls} NUL bytes at the start of the rotated log (it was {lengthBefore} bytes before the truncation)");
        Assert.True(after.Length < lengthBefore, $"the log after truncation has {after.Length} bytes, before it {lengthBefore}");
        Assert.StartsWith(DateTime.Now.Year.ToString(CultureInfo.InvariantCulture), System.Text.Encoding.UTF8.GetString(after));
    }

    [Fact]
    public async Task AConfigurationOnlyRootCanReadIsReportedAtStartAndOnSighupWithWhatToDo()
    {
        Assert.True(Native.IsRoot, "this test starts the daemon as root");
        using var run = RunDirectoryOfNobody("reload");
        using var etc = new TempDirectory("reload-etc");
        string config = etc.Combine("aotmilter.conf");
        await File.WriteAllTextAsync(config, "# readable by root only\n");
        File.SetUnixFileMode(config, Mode0600);
        string socket = run.Combine("m.sock");

        await using var daemon = DaemonProcess.Start("-p", $"unix:{socket}", "-f", "log", "-u", "nobody", "--socket-mode", "0666", "-c", config);
        await daemon.WaitForOutputAsync("running as nobody");
        await daemon.WaitForOutputAsync($"SIGHUP will not be able to re-read {config}: permission denied");

        Native.Signal(daemon.ProcessId, Native.SIGHUP);
        await daemon.WaitForOutputAsync($"SIGHUP: cannot re-read {config}: permission denied: the daemon runs as nobody after -u; make the file readable by it");

        // The previous settings stay and the daemon still serves.
        await using MilterClient mta = await MilterClient.ConnectAsync($"unix:{socket}");
        await mta.NegotiateAsync();
        Assert.False(daemon.HasExited, daemon.Describe());
    }

    private static TempDirectory RunDirectoryOfNobody(string prefix)
    {
        // Like /run/aotmilter once the daemon gave it to its user: that user may create and replace files in it.
        var dir = new TempDirectory(prefix);
        Native.ChownNoFollow(dir.Path, Nobody, Nobody);
        return dir;
    }

    private static string RootOnlyFile(TempDirectory dir)
    {
        string path = dir.Combine("root-only");
        File.WriteAllText(path, RootsData);
        File.SetUnixFileMode(path, Mode0600);
        return path;
    }

    private static void PlantSymlink(string path, string target)
    {
        File.CreateSymbolicLink(path, target);
        Native.ChownNoFollow(path, Nobody, Nobody);
    }

    private static void AssertUntouched(string rootOnlyFile)
    {
        FileFacts facts = FileFacts.Of(rootOnlyFile);
        Assert.Equal(RootsData, File.ReadAllText(rootOnlyFile));
        Assert.Equal((0u, 0u, Mode0600), (facts.Owner, facts.Group, facts.Mode));
    }

    // The prefix the daemon once matched to give directories away; unique per test, removed by the test.
    private static string NewRunPath() => $"/run/aotmilter-test-{Guid.NewGuid().ToString("N")[..12]}";

    private static async Task WaitForLogAsync(string logFile, string text, DaemonProcess daemon)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(15); DateTime.UtcNow < deadline && !daemon.HasExited; await Task.Delay(25))
        {
            if (File.Exists(logFile) && (await File.ReadAllTextAsync(logFile)).Contains(text, StringComparison.Ordinal))
            {
                return;
            }
        }

        throw new TimeoutException($"no \"{text}\" in {logFile}.\n{daemon.Describe()}");
    }
}
