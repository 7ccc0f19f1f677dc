using System.Text;

namespace AotMilter;

/// <summary>
/// An address the MTA sent (the client's at connect, the sender's or a recipient's), as UTF-8 bytes of the receive
/// buffer: valid during the call. <see cref="Bytes"/> reads it without allocating; <see cref="ToString"/> returns the
/// text (and allocates it), where a span's would be "System.ReadOnlySpan&lt;Byte&gt;[10]".
/// </summary>
public readonly ref struct Utf8Address
{
    public Utf8Address(ReadOnlySpan<byte> bytes) => Bytes = bytes;

    /// <summary>The address as the MTA sent it, without copying.</summary>
    public ReadOnlySpan<byte> Bytes { get; }

    /// <summary>True when the MTA sent no address (the null sender, a client of the unknown family).</summary>
    public bool IsEmpty => Bytes.IsEmpty;

    /// <summary>The number of bytes.</summary>
    public int Length => Bytes.Length;

    /// <summary>The bytes, for code written against the span this property used to be.</summary>
    public static implicit operator ReadOnlySpan<byte>(Utf8Address address) => address.Bytes;

    /// <summary>The address as text, decoded as UTF-8. Allocates a string on every call.</summary>
    public override string ToString() => Encoding.UTF8.GetString(Bytes);
}
