namespace AotMilter.TestFilters;

/// <summary>
/// Settings a test changes while the daemon runs, for decisions nothing in the SMTP conversation can carry (the
/// verdict at connect): lines <c>key=value</c> in the file named by the environment variable
/// <c>AOTMILTER_TEST_CONTROL</c>, read at every use. No variable, no file or no such key: null.
/// </summary>
public static class ControlFile
{
    public const string Variable = "AOTMILTER_TEST_CONTROL";

    /// <summary>Where the file is for this process; set by in-process tests, else taken from the environment.</summary>
    public static string? Path { get; set; } = Environment.GetEnvironmentVariable(Variable);

    public static string? Read(string key)
    {
        string? path = Path;
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            return null;
        }

        foreach (string line in File.ReadAllLines(path))
        {
            int equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && line.AsSpan(0, equals).Trim().SequenceEqual(key))
            {
                return line[(equals + 1)..].Trim();
            }
        }

        return null;
    }
}
