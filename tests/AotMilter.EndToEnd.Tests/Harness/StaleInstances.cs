namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>
/// Cleans up after test runs that died without disposing their fixtures (e.g. a killed test host): every
/// <see cref="TempDirectory"/> records its owner's process id; a directory whose owner is gone is removed, after
/// stopping the Postfix master that may still run from it (with <c>postfix stop</c>: the master holds an exclusive lock
/// on its pid file, which .NET cannot open) and deleting the runc containers whose state it holds. Runs once per test
/// run, before the first instance starts.
/// </summary>
public static class StaleInstances
{
    public const string OwnerFile = ".owner-pid";

    /// <summary>Where an <see cref="OciContainer"/> keeps runc's state (one subdirectory per container).</summary>
    public const string RuncStateDirectory = "runc-state";

    private static readonly Lazy<Task> Once = new(CleanUpAsync);

    public static Task CleanUpOnceAsync() => Once.Value;

    private static async Task CleanUpAsync()
    {
        foreach (var directory in Directory.GetDirectories(Path.GetTempPath(), "aotmilter-*"))
        {
            try
            {
                if (ReadPid(Path.Combine(directory, OwnerFile)) is not { } owner || Native.Signal(owner, 0))
                {
                    continue; // not ours, or its test run is still alive
                }

                var config = Path.Combine(directory, "etc");
                if (File.Exists(Path.Combine(config, "main.cf")) && File.Exists(Path.Combine(directory, "spool", "pid", "master.pid")))
                {
                    await ProcessRunner.RunAsync("/usr/sbin/postfix", ["-c", config, "stop"], TimeSpan.FromSeconds(30));
                }

                var runcState = Path.Combine(directory, RuncStateDirectory);
                if (Directory.Exists(runcState))
                {
                    foreach (var container in Directory.GetDirectories(runcState))
                    {
                        await ProcessRunner.RunAsync(
                            "runc", ["--root", runcState, "delete", "--force", Path.GetFileName(container)], TimeSpan.FromSeconds(30));
                    }
                }

                Directory.Delete(directory, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or TimeoutException)
            {
                // Best effort: a leftover directory does not affect new instances.
            }
        }
    }

    private static int? ReadPid(string path)
    {
        try
        {
            return int.TryParse(File.ReadAllText(path).Trim(), out var pid) && pid > 0 ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
