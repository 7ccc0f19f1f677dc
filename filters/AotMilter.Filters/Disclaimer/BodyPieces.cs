namespace AotMilter.Filters.Disclaimer;

/// <summary>
/// The rewritten body as the pieces it is made of, in order: unchanged ranges of the original body (slices, not
/// copies) and the bytes of each edit. Written one by one to the MTA, the new body never exists as a whole in memory
/// beside the old one.
/// </summary>
public readonly ref struct BodyPieces
{
    private readonly ReadOnlySpan<byte> _original;
    private readonly IReadOnlyList<BodyEdit> _edits;

    internal BodyPieces(ReadOnlySpan<byte> original, IReadOnlyList<BodyEdit> edits)
    {
        _original = original;
        _edits = edits;
    }

    public Enumerator GetEnumerator() => new(_original, _edits);

    /// <summary>The whole new body in one array (for tests and tools; the filter writes the pieces).</summary>
    public byte[] ToArray()
    {
        long length = 0;
        foreach (ReadOnlySpan<byte> piece in this)
        {
            length += piece.Length;
        }

        byte[] body = new byte[length];
        int at = 0;
        foreach (ReadOnlySpan<byte> piece in this)
        {
            piece.CopyTo(body.AsSpan(at));
            at += piece.Length;
        }

        return body;
    }

    public ref struct Enumerator
    {
        private readonly ReadOnlySpan<byte> _original;
        private readonly IReadOnlyList<BodyEdit> _edits;
        private int _edit;
        private int _position;
        private bool _inEdit;
        private bool _finished;

        // The other fields start at their defaults: at the first piece, outside any edit.
        internal Enumerator(ReadOnlySpan<byte> original, IReadOnlyList<BodyEdit> edits)
        {
            _original = original;
            _edits = edits;
        }

        public ReadOnlySpan<byte> Current { get; private set; }

        public bool MoveNext()
        {
            while (true)
            {
                if (_inEdit)
                {
                    // The edit's own bytes, then on after the range it replaces.
                    BodyEdit edit = _edits[_edit++];
                    _inEdit = false;
                    _position = edit.End;
                    Current = edit.Bytes;
                }
                else if (_edit < _edits.Count)
                {
                    _inEdit = true;
                    Current = _original[_position.._edits[_edit].Start];
                }
                else if (!_finished)
                {
                    Current = _original[_position..];
                    _finished = true;
                }
                else
                {
                    return false;
                }

                if (!Current.IsEmpty)
                {
                    return true;
                }
            }
        }
    }
}
