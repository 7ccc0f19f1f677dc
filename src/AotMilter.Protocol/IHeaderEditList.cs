namespace AotMilter.Protocol;

/// <summary>
/// A header list as <see cref="HeaderEdits"/> sees it: positions 0..Count-1 in message order. The list decides how
/// it stores fields (bytes in an arena, records, nodes); the rules decide which position an edit touches.
/// </summary>
public interface IHeaderEditList
{
    int Count { get; }

    ReadOnlySpan<byte> NameAt(int position);

    HeaderOrigin OriginAt(int position);

    /// <summary>Puts a new client field at <paramref name="position"/> (Count: at the end).</summary>
    void Insert(int position, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value);

    /// <summary>Gives the field at <paramref name="position"/> a new value; it becomes a client field.</summary>
    void Replace(int position, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value);

    /// <summary>Deletes the field at <paramref name="position"/> (a Postfix list drops it; a Sendmail list keeps the
    /// entry, unwritten, so later indexes do not move).</summary>
    void Remove(int position);
}
