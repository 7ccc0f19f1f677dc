using System.Reflection;

namespace AotMilter;

/// <summary>The product version, as built (the assembly's informational version without source-control suffix).</summary>
public static class AotMilterVersion
{
    public static string Current { get; } = Read();

    private static string Read()
    {
        string? v = typeof(AotMilterVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (string.IsNullOrEmpty(v))
        {
            return "0.0.0";
        }

        int plus = v.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? v : v[..plus];
    }
}
