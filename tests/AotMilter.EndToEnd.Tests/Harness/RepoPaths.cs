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
