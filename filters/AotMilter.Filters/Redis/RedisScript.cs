namespace AotMilter.Filters.Redis;

/// <summary>
/// A Lua script the stores run on the server, so that a check and its update are one atomic step and one round trip.
/// The client loads it once (SCRIPT LOAD, which answers its SHA1) and then calls it by that hash (EVALSHA); a server
/// that lost its scripts (a restart, SCRIPT FLUSH, a fail-over) answers NOSCRIPT, and the client loads it again.
/// The hash is Redis's answer rather than computed here: SHA1 would bring the platform's crypto library into a
/// binary that otherwise does not load one.
/// </summary>
public sealed class RedisScript(string name, string source)
{
    /// <summary>A name for messages.</summary>
    public string Name { get; } = name;

    public string Source { get; } = source;

    /// <summary>The hash the server answered to SCRIPT LOAD, once it has (the same on every server).</summary>
    internal string? Sha1 { get; set; }

    public override string ToString() => Name;
}
