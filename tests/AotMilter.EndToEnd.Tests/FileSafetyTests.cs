using System.Globalization;
using AotMilter.EndToEnd.Tests.Harness;
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
    private const string RootsData = "root's data\n";

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
