using System.Text;
using AotMilter.Protocol;

namespace AotMilter.Mta;

/// <summary>One change the milter asked for at end of message, in the order it was sent.</summary>
public abstract record Modification
{
    private Modification()
    {
    }

    /// <summary><c>h</c>: append a header field.</summary>
    public sealed record AddHeader(string Name, string Value) : Modification;

    /// <summary><c>i</c>: insert a header field at <paramref name="Index"/> (0 = first).</summary>
    public sealed record InsertHeader(uint Index, string Name, string Value) : Modification;

    /// <summary><c>m</c>: change the <paramref name="Index"/>-th field called <paramref name="Name"/> (1 = first);
    /// an empty value deletes it.</summary>
    public sealed record ChangeHeader(uint Index, string Name, string Value) : Modification
    {
        public bool IsDelete => Value.Length == 0;
    }

    /// <summary><c>+</c> (no arguments: <paramref name="Arguments"/> is null) or <c>2</c> (with one string of ESMTP
    /// arguments): add a recipient.</summary>
    public sealed record AddRecipient(string Address, string? Arguments = null) : Modification;

    /// <summary><c>-</c>: remove a recipient.</summary>
    public sealed record DeleteRecipient(string Address) : Modification;

    /// <summary><c>e</c>: change the envelope sender, optionally with one string of ESMTP arguments.</summary>
    public sealed record ChangeSender(string Address, string? Arguments = null) : Modification;

    /// <summary><c>q</c>: quarantine the message (a note, not a verdict).</summary>
    public sealed record Quarantine(string Reason) : Modification;

    /// <summary><c>b</c>: one chunk of the replacement body. Several chunks make up the new body, in order.</summary>
    public sealed record ReplaceBody(byte[] Chunk) : Modification
    {
        public bool Equals(ReplaceBody? other) => other is not null && Chunk.AsSpan().SequenceEqual(other.Chunk);

        public override int GetHashCode() => Chunk.Length;

        public override string ToString() => $"ReplaceBody {{ {Chunk.Length} bytes }}";
    }

    /// <summary>The kit's form of a modification read from the wire (strings decoded as UTF-8, the body chunk copied).</summary>
    internal static Modification From(MilterModification m) => m.Kind switch
    {
        MilterResponse.AddHeader => new AddHeader(Utf8(m.Name), Utf8(m.Value)),
        MilterResponse.InsertHeader => new InsertHeader(m.Index, Utf8(m.Name), Utf8(m.Value)),
        MilterResponse.ChangeHeader => new ChangeHeader(m.Index, Utf8(m.Name), Utf8(m.Value)),
        MilterResponse.AddRecipient => new AddRecipient(Utf8(m.Address)),
        MilterResponse.AddRecipientWithArgs => new AddRecipient(Utf8(m.Address), m.HasArguments ? Utf8(m.Arguments) : ""),
        MilterResponse.DeleteRecipient => new DeleteRecipient(Utf8(m.Address)),
        MilterResponse.ChangeSender => new ChangeSender(Utf8(m.Address), m.HasArguments ? Utf8(m.Arguments) : null),
        MilterResponse.Quarantine => new Quarantine(Utf8(m.Reason)),
        _ => new ReplaceBody(m.Chunk.ToArray()),
    };

    /// <summary>A readable one-line form, for assertion messages.</summary>
    public static string Describe(IEnumerable<Modification> modifications)
    {
        ArgumentNullException.ThrowIfNull(modifications);
        var text = new StringBuilder();
        foreach (Modification m in modifications)
        {
            if (text.Length > 0)
            {
                text.Append("; ");
            }

            text.Append(m);
        }

        return text.ToString();
    }

    private static string Utf8(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);
}
