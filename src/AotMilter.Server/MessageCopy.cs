using System.Buffers.Binary;
using AotMilter.Protocol;

namespace AotMilter.Server;

/// <summary>
/// The copy of the current message a filter chain keeps, so that each filter after the first can be shown the
/// headers and body with the earlier filters' changes applied, as if the MTA ran the filters one after the other.
/// Storage is reused from message to message.
/// </summary>
internal sealed class MessageCopy
{
    private readonly List<HeaderEntry> _headers = [];
    private byte[] _headerBytes = new byte[4096];
    private int _headerUsed;
    private byte[] _body = new byte[16 * 1024];

    public MessageCopy(long maxBodySize) => MaxBodySize = maxBodySize;

    /// <summary>The largest body kept; a longer message cannot be shown to the later filters.</summary>
    public long MaxBodySize { get; }

    public int HeaderCount => _headers.Count;

    public int BodyLength { get; private set; }

    /// <summary>True when the body grew past <see cref="MaxBodySize"/>.</summary>
    public bool Overflowed { get; private set; }

    /// <summary>True when a filter of the chain replaced the body.</summary>
    public bool BodyReplaced { get; private set; }

    public ReadOnlySpan<byte> Body => _body.AsSpan(0, BodyLength);

    public void Clear()
    {
        _headers.Clear();
        _headerUsed = 0;
        BodyLength = 0;
        Overflowed = false;
        BodyReplaced = false;
        if (_body.Length > 1024 * 1024)
        {
            _body = new byte[16 * 1024];
        }
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
        if (Overflowed || BodyLength + (long)chunk.Length > MaxBodySize)
        {
            Overflowed = true;
            return;
        }

        EnsureBody(BodyLength + chunk.Length);
        chunk.CopyTo(_body.AsSpan(BodyLength));
        BodyLength += chunk.Length;
    }

    public void ReplaceBody(ReadOnlySpan<byte> body)
    {
        EnsureBody(body.Length);
        body.CopyTo(_body);
        BodyLength = body.Length;
        BodyReplaced = true;
        Overflowed = false;
    }

    /// <summary>
    /// Applies a filter's header edits (the frames its editor wrote) to the copy: add appends, insert places at an
    /// index among the headers, change replaces the n-th field of that name (an empty value deletes it, a missing
    /// one is added), as Postfix applies them.
    /// </summary>
    public void ApplyHeaderEdits(ReadOnlySpan<byte> frames)
    {
        while (MilterFrameReader.TryReadFrame(frames, MilterFrameReader.MaxPayloadLimit, out MilterFrame frame, out int length))
        {
            ReadOnlySpan<byte> p = frame.Payload;
            switch ((MilterResponse)frame.Command)
            {
                case MilterResponse.AddHeader:
                {
                    ReadOnlySpan<byte> name = NulString.Read(ref p, "header name");
                    AddHeader(name, NulString.Read(ref p, "header value"));
                    break;
                }

                case MilterResponse.InsertHeader:
                {
                    int index = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(p), (uint)_headers.Count);
                    p = p[4..];
                    ReadOnlySpan<byte> name = NulString.Read(ref p, "header name");
                    InsertHeader(index, name, NulString.Read(ref p, "header value"));
                    break;
                }

                case MilterResponse.ChangeHeader:
                {
                    uint occurrence = Math.Max(1u, BinaryPrimitives.ReadUInt32BigEndian(p));
                    p = p[4..];
                    ReadOnlySpan<byte> name = NulString.Read(ref p, "header name");
                    ReadOnlySpan<byte> value = NulString.Read(ref p, "header value");
                    ChangeHeader(name, occurrence, value, delete: value.IsEmpty);
                    break;
                }
            }

            frames = frames[length..];
        }
    }

    private void ChangeHeader(ReadOnlySpan<byte> name, uint occurrence, ReadOnlySpan<byte> value, bool delete)
    {
        uint seen = 0;
        for (int i = 0; i < _headers.Count; i++)
        {
            GetHeader(i, out ReadOnlySpan<byte> n, out _);
            if (System.Text.Ascii.EqualsIgnoreCase(n, name) && ++seen == occurrence)
            {
                if (delete)
                {
                    _headers.RemoveAt(i);
                }
                else
                {
                    _headers.RemoveAt(i);
                    InsertHeader(i, name, value);
                }

                return;
            }
        }

        if (!delete)
        {
            AddHeader(name, value);
        }
    }

    private void InsertHeader(int index, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        int needed = _headerUsed + name.Length + value.Length;
        if (needed > _headerBytes.Length)
        {
            Array.Resize(ref _headerBytes, Math.Max(needed, _headerBytes.Length * 2));
        }

        name.CopyTo(_headerBytes.AsSpan(_headerUsed));
        value.CopyTo(_headerBytes.AsSpan(_headerUsed + name.Length));
        _headers.Insert(index, new HeaderEntry(_headerUsed, name.Length, value.Length));
        _headerUsed = needed;
    }

    private void EnsureBody(int length)
    {
        if (length > _body.Length)
        {
            Array.Resize(ref _body, (int)Math.Min(Math.Max(length, (long)_body.Length * 2), Array.MaxLength));
        }
    }

    private readonly record struct HeaderEntry(int Start, int NameLength, int ValueLength);
}
