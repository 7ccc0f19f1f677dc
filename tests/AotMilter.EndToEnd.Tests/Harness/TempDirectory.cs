namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>
/// A fresh directory under /tmp, mode 0755 so that unprivileged MTA processes (user postfix) can reach sockets in it;
/// deleted on dispose. Paths stay short: unix socket paths are limited to 107 bytes.
/// </summary>
public sealed class TempDirectory : IDisposable
{
    private const UnixFileMode Mode0755 =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    public TempDirectory(string prefix)
    {
        Path = Directory.CreateTempSubdirectory($"aotmilter-{prefix}-").FullName;
        File.SetUnixFileMode(Path, Mode0755);
        File.WriteAllText(Combine(StaleInstances.OwnerFile), $"{Environment.ProcessId}\n");
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>Creates (mode 0755) and returns a subdirectory.</summary>
    public string CreateSubdirectory(string name)
    {
        var path = Combine(name);
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, Mode0755);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (IOException)
        {
            // A process that is still shutting down may recreate a file; a leftover temp dir is harmless.
        }
    }
}
