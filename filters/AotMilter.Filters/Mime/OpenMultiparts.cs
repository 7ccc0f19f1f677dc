using System.Text;

namespace AotMilter.Filters.Mime;

/// <summary>
/// The multiparts the parser is inside, outermost first, each with the part it is reading: what a delimiter line is
/// matched against. The outermost match wins (an inner multipart that reuses an outer boundary never sees it), and a
/// match ends every deeper multipart, as RFC 2046 nesting implies.
/// <para>
/// A line is matched by the hash of the boundary it would carry, so each line costs about the same however deeply
/// the multiparts nest (comparing it with 24 boundaries one by one made a body of "--x" lines 10 times slower at the
/// deepest nesting). The hash is seeded per process, so a sender cannot make lines collide on purpose; a collision
/// only costs a byte comparison.
/// </para>
/// </summary>
internal sealed class OpenMultiparts
{
    private readonly List<Level> _levels = [];

    public int Count => _levels.Count;

    public Level this[int index] => _levels[index];

    public void Push(MimeEntity multipart, string boundary, ContentType childDefault)
        => _levels.Add(new Level(multipart, Encoding.Latin1.GetBytes(boundary), childDefault));

    /// <summary>Forgets the multiparts from <paramref name="count"/> on (the innermost ones).</summary>
    public void Truncate(int count) => _levels.RemoveRange(count, _levels.Count - count);

    /// <summary>
    /// True when <paramref name="line"/> (without its line ending) is "--" + the boundary of an open multipart,
    /// optionally followed by "--" (<paramref name="close"/>), then only white space.
    /// </summary>
    public bool Match(ReadOnlySpan<byte> line, out int level, out bool close)
    {
        level = -1;
        close = false;
        if (!line.StartsWith("--"u8) || _levels.Count == 0)
        {
            return false;
        }

        // The line is "--" + what would be a boundary + white space; a closing delimiter's ends in "--".
        ReadOnlySpan<byte> token = line[2..].TrimEnd(" \t"u8);
        int openHash = Hash(token);
        bool mayClose = token.EndsWith("--"u8);
        int closeHash = mayClose ? Hash(token[..^2]) : 0;
        for (int i = 0; i < _levels.Count; i++)
        {
            Level candidate = _levels[i];
            if (mayClose && candidate.Hash == closeHash && token[..^2].SequenceEqual(candidate.Boundary))
            {
                level = i;
                close = true;
                return true;
            }

            // A boundary that ends in white space (legal if unwise) has it in the line too, before any padding.
            if (candidate.TrimmedHash == openHash && token.SequenceEqual(candidate.Trimmed) && line[(2 + token.Length)..].StartsWith(candidate.Padding))
            {
                level = i;
                return true;
            }
        }

        return false;
    }

    private static int Hash(ReadOnlySpan<byte> boundary)
    {
        var hash = default(HashCode);
        hash.AddBytes(boundary);
        return hash.ToHashCode();
    }

    /// <summary>One open multipart and the part of it being read (null before its first delimiter).</summary>
    internal sealed class Level
    {
        public Level(MimeEntity multipart, byte[] boundary, ContentType childDefault)
        {
            Multipart = multipart;
            Boundary = boundary;
            Hash = OpenMultiparts.Hash(boundary);
            int trimmed = boundary.AsSpan().TrimEnd(" \t"u8).Length;
            Trimmed = boundary[..trimmed];
            Padding = boundary[trimmed..];
            TrimmedHash = OpenMultiparts.Hash(Trimmed);
            ChildDefault = childDefault;
        }

        public MimeEntity Multipart { get; }

        public byte[] Boundary { get; }

        public int Hash { get; }

        /// <summary>The boundary without trailing white space, and that white space.</summary>
        public byte[] Trimmed { get; }

        public byte[] Padding { get; }

        public int TrimmedHash { get; }

        /// <summary>What a part without Content-Type is: text/plain, or message/rfc822 in a digest.</summary>
        public ContentType ChildDefault { get; }

        public MimeEntity? Part { get; set; }
    }
}
