namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>Locates the repository and the aotmilter binary under test.</summary>
public static class RepoPaths
{
    /// <summary>Overrides the binary under test (absolute path).</summary>
    public const string BinaryVariable = "AOTMILTER_BINARY";

    /// <summary>The directory holding AotMilter.sln, found by walking up from the test assembly.</summary>
    public static string Root
    {
        get
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "AotMilter.sln")))
                {
                    return directory.FullName;
                }
            }

            throw new InvalidOperationException($"AotMilter.sln not found above {AppContext.BaseDirectory}");
        }
    }

    /// <summary>
    /// The test build of the daemon (tests/AotMilter.TestDaemon, built with this test project in the same
    /// configuration): AotMilter.Hosting with the test filters linked in.
    /// </summary>
    public static string TestDaemonBinary()
    {
        var configuration = typeof(RepoPaths).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>().Single(a => a.Key == "Configuration").Value;
        var binary = Path.Combine(Root, "tests", "AotMilter.TestDaemon", "bin", configuration!, "net10.0", "aotmilter-test");
        return File.Exists(binary)
            ? binary
            : throw new FileNotFoundException($"the test daemon was not built: dotnet build tests/AotMilter.TestDaemon -c {configuration} (looked for {binary})", binary);
    }

    /// <summary>artifacts/aotmilter (or $AOTMILTER_BINARY); throws with a hint when it does not exist.</summary>
    public static string AotMilterBinary()
    {
        var overridden = Environment.GetEnvironmentVariable(BinaryVariable);
        if (!string.IsNullOrEmpty(overridden))
        {
            return File.Exists(overridden)
                ? overridden
                : throw new FileNotFoundException($"{BinaryVariable}={overridden} not found", overridden);
        }

        var binary = Path.Combine(Root, "artifacts", "aotmilter");
        return File.Exists(binary)
            ? binary
            : throw new FileNotFoundException($"artifacts/aotmilter not found: run ./build.sh first (looked for {binary})", binary);
    }
}
