namespace AotMilter.Server;

/// <summary>Lower-case verdict names for log lines and metrics labels, made once (not per connection).</summary>
internal static class VerdictNames
{
    private static readonly string[] s_names = ["continue", "accept", "reject", "tempfail", "discard", "skip"];

    /// <summary>An accepted message that the MTA holds in its quarantine (not a verdict of its own on the wire).</summary>
    public const string Quarantine = "quarantine";

    public static string Of(VerdictKind kind) => (uint)kind < (uint)s_names.Length ? s_names[(int)kind] : kind.ToString().ToLowerInvariant();
}
