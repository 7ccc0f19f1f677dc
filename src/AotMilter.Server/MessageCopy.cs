using AotMilter.Hosting;
using AotMilter.Protocol;

namespace AotMilter.Server;

/// <summary>
/// The copy of the current message a filter chain keeps, so that each filter after the first can be shown the
/// headers and body with the earlier filters' changes applied, as if the MTA ran the filters one after the other.
/// Headers and body together are bounded by <see cref="MaxSize"/> and by the process's <see cref="MemoryBudget"/>;
/// storage is reused from message to message and goes back to its working size when the connection ends.
/// </summary>
internal sealed class MessageCopy : IHeaderEditList
{
    private const int WorkingHeaderBytes = 4096;
    private const int WorkingBodyBytes = 16 * 1024;
    private const int WorkingHeaderCount = 64;

    // What one header costs besides its bytes (its entry in the list), counted against the size limit so that a
    // flood of empty headers is bounded too.
    private const int HeaderOverhead = 16;

    private readonly List<HeaderEntry> _headers = new(WorkingHeaderCount);
    private readonly MemoryBudget? _budget;
    private byte[] _headerBytes = new byte[WorkingHeaderBytes];
    private int _headerUsed;
    private byte[] _body = new byte[WorkingBodyBytes];
    private long _reserved;

    public MessageCopy(long maxSize, MemoryBudget? budget = null)
    {
        MaxSize = maxSize;
        _budget = budget;
    }

    /// <summary>The most bytes kept for one message, headers and body together.</summary>
    public long MaxSize { get; }

    public int HeaderCount => _headers.Count;

    public int BodyLength { get; private set; }

    /// <summary>True when the message grew past <see cref="MaxSize"/> or the memory budget: it cannot be shown to later filters.</summary>
    public bool Overflowed { get; private set; }

    /// <summary>True when the overflow was the process's memory budget, not this message's size.</summary>
    public bool OverflowedBudget { get; private set; }

    /// <summary>True when a filter of the chain replaced the body.</summary>
    public bool BodyReplaced { get; private set; }

    public ReadOnlySpan<byte> Body => _body.AsSpan(0, BodyLength);

    // Headers (with their overhead) and body held now, against MaxSize.
    private long Size => _headerUsed + ((long)_headers.Count * HeaderOverhead) + BodyLength;

    public void Clear()
    {
        _headers.Clear();
        _headerUsed = 0;
        BodyLength = 0;
        Overflowed = false;
        OverflowedBudget = false;
        BodyReplaced = false;
        if (_body.Length > 1024 * 1024 || _headerBytes.Length > 64 * 1024)
        {
            // One large message should not pin its storage for the rest of the connection.
            Release();
        }
    }

    /// <summary>Clears and gives every buffer back to its working size (the connection ended).</summary>
    public void Release()
    {
        _headers.Clear();
        if (_headers.Capacity > WorkingHeaderCount)
        {
            _headers.Capacity = WorkingHeaderCount;
        }

        _headerUsed = 0;
        BodyLength = 0;
        Overflowed = false;
        OverflowedBudget = false;
        BodyReplaced = false;
        if (_headerBytes.Length > WorkingHeaderBytes)
        {
            _headerBytes = new byte[WorkingHeaderBytes];
        }

        if (_body.Length > WorkingBodyBytes)
        {
            _body = new byte[WorkingBodyBytes];
        }

        _budget?.Release(_reserved);
        _reserved = 0;
    }

    public void GetHeader(int index, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        HeaderEntry e = _headers[index];
        name = _headerBytes.AsSpan(e.Start, e.NameLength);
        value = _headerBytes.AsSpan(e.Start + e.NameLength, e.ValueLength);
    }

    public void AddHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => InsertHeader(_headers.Count, name, value);

    public void AppendBody(ReadOnlySpan<byte> chunk)
    {
        if (Overflowed || !Fits(chunk.Length) || !EnsureBody(BodyLength + chunk.Length))
        {
            return;
        }

        chunk.CopyTo(_body.AsSpan(BodyLength));
        BodyLength += chunk.Length;
    }

    /// <summary>A filter's replacement body for the later filters; false when it does not fit (the copy overflowed).</summary>
    public bool ReplaceBody(ReadOnlySpan<byte> body)
    {
        BodyLength = 0;
        if (Overflowed || !Fits(body.Length) || !EnsureBody(body.Length))
        {
            return false;
        }

        body.CopyTo(_body);
        BodyLength = body.Length;
        BodyReplaced = true;
        return true;
    }

    /// <summary>The chain's end of message failed: the MTA keeps its body, whatever a filter replaced it with here.</summary>
    public void ForgetReplacement() => BodyReplaced = false;

    /// <summary>
    /// Applies a filter's header edits to the copy, with Postfix's rules (<see cref="HeaderEdits"/>). The copy holds
    /// only the headers the filters saw, so an insert index counts from the first of them where Postfix counts its
    /// own Received: too. <paramref name="frames"/> holds the names and values the edits point into.
    /// </summary>
    public void ApplyHeaderEdits(ReadOnlySpan<HeaderEdit> edits, ReadOnlySpan<byte> frames)
    {
        foreach (ref readonly HeaderEdit edit in edits)
        {
            switch (edit.Kind)
            {
                case MilterResponse.AddHeader:
                    HeaderEdits.Add(this, HeaderEditStyle.Postfix, edit.Name(frames), edit.Value(frames));
                    break;
                case MilterResponse.InsertHeader:
                    HeaderEdits.Insert(this, HeaderEditStyle.Postfix, edit.Index, edit.Name(frames), edit.Value(frames));
                    break;
                case MilterResponse.ChangeHeader:
                    HeaderEdits.Change(this, HeaderEditStyle.Postfix, edit.Index, edit.Name(frames), edit.Value(frames));
                    break;
            }
        }
    }

    int IHeaderEditList.Count => _headers.Count;

    ReadOnlySpan<byte> IHeaderEditList.NameAt(int position)
    {
        HeaderEntry e = _headers[position];
        return _headerBytes.AsSpan(e.Start, e.NameLength);
    }

    HeaderOrigin IHeaderEditList.OriginAt(int position) => HeaderOrigin.Client;

    void IHeaderEditList.Insert(int position, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => InsertHeader(position, name, value);

    void IHeaderEditList.Replace(int position, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        _headers.RemoveAt(position);
        InsertHeader(position, name, value);
    }

    void IHeaderEditList.Remove(int position) => _headers.RemoveAt(position);

    private void InsertHeader(int index, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        int added = name.Length + value.Length;
        if (Overflowed || !Fits(added + HeaderOverhead))
        {
            return;
        }

        int needed = _headerUsed + added;
        if (needed > _headerBytes.Length && !Grow(ref _headerBytes, needed, WorkingHeaderBytes))
        {
            return;
        }

        name.CopyTo(_headerBytes.AsSpan(_headerUsed));
        value.CopyTo(_headerBytes.AsSpan(_headerUsed + name.Length));
        _headers.Insert(index, new HeaderEntry(_headerUsed, name.Length, value.Length));
        _headerUsed = needed;
    }

    private bool Fits(long more)
    {
        if (Size + more <= MaxSize)
        {
            return true;
        }

        Overflowed = true;
        return false;
    }

    private bool EnsureBody(int length) => length <= _body.Length || Grow(ref _body, length, WorkingBodyBytes);

    /// <summary>Grows <paramref name="buffer"/> to hold <paramref name="needed"/> bytes, within the budget.</summary>
    private bool Grow(ref byte[] buffer, int needed, int working)
    {
        long size = Math.Min(Math.Max(needed, (long)buffer.Length * 2), Math.Min(MaxSize, Array.MaxLength));
        size = Math.Max(size, needed);

        // Only what grows past the working size counts: the working buffers are part of the connection's fixed cost.
        long before = buffer.Length > working ? buffer.Length : 0;
        if (_budget is not null && !_budget.TryReserve(size - before))
        {
            Overflowed = true;
            OverflowedBudget = true;
            return false;
        }

        _reserved += size - before;
        byte[] bigger = GC.AllocateUninitializedArray<byte>((int)size);
        buffer.AsSpan().CopyTo(bigger);
        buffer = bigger;
        return true;
    }

    private readonly record struct HeaderEntry(int Start, int NameLength, int ValueLength);
}
