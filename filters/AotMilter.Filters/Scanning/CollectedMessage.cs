namespace AotMilter.Filters.Scanning;

/// <summary>
/// The message as a filter that scans at end of message collects it: the header and body as the scanner reads them
/// (<see cref="MessageChunks"/>, up to <c>max-size</c>, reserved from the memory budget), how often each header the
/// filter may later replace or remove occurs (<see cref="HeaderCounts"/>), and the message's own Subject. The filter's
/// callbacks hand each event on, in one line each; end of message reads what was collected.
/// </summary>
public sealed class CollectedMessage(long maxSize, HeaderCounts headers)
{
    public MessageChunks Chunks { get; } = new(maxSize);

    public HeaderCounts Headers { get; } = headers;

    /// <summary>The first Subject field's value as the MTA passed it, or null.</summary>
    public string? Subject { get; private set; }

    public void Header(HeaderField header, MilterContext context)
    {
        Headers.Count(header);
        if (Subject is null && header.NameIs("Subject"))
        {
            Subject = header.ValueString();
        }

        Chunks.AppendHeader(header, context.MemoryBudget);
    }

    public void EndOfHeaders(MilterContext context) => Chunks.Append("\r\n"u8, context.MemoryBudget);

    /// <summary>
    /// Collects a body chunk; true once past <c>max-size</c>, when the MTA may stop sending the body. The filter's body
    /// callback answers Skip itself: the generator asks the MTA for skips only when that callback's own code names it.
    /// </summary>
    public bool CollectBody(ReadOnlySpan<byte> chunk, MilterContext context)
    {
        Chunks.Append(chunk, context.MemoryBudget);
        return Chunks.Overflowed;
    }

    /// <summary>Forgets the message and gives its memory back (next message, abort, close).</summary>
    public void Reset()
    {
        Chunks.Reset();
        Headers.Reset();
        Subject = null;
    }
}
