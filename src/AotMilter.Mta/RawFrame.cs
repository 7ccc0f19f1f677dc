using System.Text;

namespace AotMilter.Mta;

/// <summary>One frame as received: its command byte and a copy of its payload.</summary>
public sealed record RawFrame(byte Command, byte[] Payload)
{
    /// <summary>The command byte as a character ('c', 'h', 'O' …).</summary>
    public char Letter => (char)Command;

    public override string ToString()
    {
        string payload = Payload.Length <= 64
            ? Encoding.UTF8.GetString(Payload).Replace("\0", "\\0", StringComparison.Ordinal)
            : $"{Payload.Length} bytes";
        return $"'{Letter}' {payload}";
    }
}
