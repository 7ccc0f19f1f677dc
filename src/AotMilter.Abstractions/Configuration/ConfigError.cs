namespace AotMilter.Configuration;

/// <summary>A problem in a configuration file: where, which field, and what is wrong.</summary>
public sealed record ConfigError(string File, int Line, string Field, string Message)
{
    public override string ToString() => $"{File}:{Line}: {Field}: {Message}";
}
