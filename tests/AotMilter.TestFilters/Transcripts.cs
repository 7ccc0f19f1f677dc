using System.Collections.Concurrent;
using System.Text;
using AotMilter.Protocol;

namespace AotMilter.TestFilters;

/// <summary>
/// What a recording filter saw, one transcript per message, keyed by the local part of the envelope sender. Kept in
/// memory (for in-process runs) and, when <c>AOTMILTER_TEST_RECORD_DIR</c> names a directory, written there as
/// KEY.txt (for runs in the daemon), so a test can compare what a real MTA fed the filter with what the kit fed it.
/// </summary>
public static class Transcripts
{
    public const string Variable = "AOTMILTER_TEST_RECORD_DIR";

    private static readonly ConcurrentDictionary<string, string> Recorded = new(StringComparer.Ordinal);

    public static string? Directory { get; set; } = Environment.GetEnvironmentVariable(Variable);

    /// <summary>The transcript of the message whose sender's local part is <paramref name="key"/>, or null.</summary>
    public static string? Get(string key)
    {
        if (Recorded.TryGetValue(key, out string? text))
        {
            return text;
        }

        string? file = Directory is { Length: > 0 } dir ? Path.Combine(dir, key + ".txt") : null;
        return file is not null && File.Exists(file) ? File.ReadAllText(file) : null;
    }

    /// <summary>Forgets an in-memory transcript.</summary>
    public static void Remove(string key) => Recorded.TryRemove(key, out _);

    internal static void Save(string key, string text)
    {
        Recorded[key] = text;
        if (Directory is { Length: > 0 } dir)
        {
            File.WriteAllText(Path.Combine(dir, key + ".txt"), text);
        }
    }

    /// <summary>Bytes as text: printable ASCII as is, everything else (CR, LF, 8-bit, NUL …) as \xHH.</summary>
    public static string Escape(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(bytes.Length);
        foreach (byte b in bytes)
        {
            if (b is >= 0x20 and < 0x7F && b != (byte)'\\')
            {
                text.Append((char)b);
            }
            else
            {
                text.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\x{b:X2}");
            }
        }

        return text.ToString();
    }

    /// <summary>The macros of one stage as "name=value" pairs, in the order the MTA sent them.</summary>
    public static string Macros(MilterContext context, MacroStage stage)
    {
        var text = new StringBuilder();
        int count = context.Macros.Count(stage);
        for (int i = 0; i < count; i++)
        {
            context.Macros.GetAt(stage, i, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value);
            text.Append(' ').Append(Escape(name)).Append('=').Append(Escape(value));
        }

        return text.ToString();
    }
}
