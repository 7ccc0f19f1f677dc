namespace AotMilter.TestFilters;

/// <summary>
/// Settings a test changes while the daemon runs, for decisions nothing in the SMTP conversation can carry (the
/// verdict at connect): lines <c>key=value</c> in the file named by the environment variable
/// <c>AOTMILTER_TEST_CONTROL</c>, read at every use. No variable, no file or no such key: null.
/// </summary>
public static class ControlFile
{
    public const string Variable = "AOTMILTER_TEST_CONTROL";

    private static readonly AsyncLocal<string?> LocalPath = new();

    /// <summary>Where the file is for this process: taken from the environment.</summary>
    public static string? Path { get; } = Environment.GetEnvironmentVariable(Variable);

    /// <summary>
    /// Where the file is for filters run in-process from the calling flow (an async-local value, so tests running in
    /// parallel each have their own); overrides <see cref="Path"/>.
    /// </summary>
    public static string? LocalOverride
    {
        get => LocalPath.Value;
        set => LocalPath.Value = value;
    }

    public static string? Read(string key)
    {
        string? path = LocalPath.Value ?? Path;
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
