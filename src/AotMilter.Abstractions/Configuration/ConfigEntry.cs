namespace AotMilter.Configuration;

/// <summary>One <c>key = value</c> line of a configuration file, with where it stands (for error messages).</summary>
public sealed record ConfigEntry(string Key, string Value, string File, int Line);
