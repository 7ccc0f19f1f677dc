namespace AotMilter.Mta;

/// <summary>
/// Everything the milter sent after end of message: its modifications in order, how many progress frames came
/// in between, and the final reply.
/// </summary>
public sealed record EndOfMessageResult(IReadOnlyList<Modification> Modifications, MilterReply Reply, int ProgressCount)
{
    /// <summary>The replacement body (all <see cref="Modification.ReplaceBody"/> chunks joined), or null when the body is unchanged.</summary>
    public byte[]? ReplacedBody
    {
        get
        {
            List<Modification.ReplaceBody> chunks = Modifications.OfType<Modification.ReplaceBody>().ToList();
            if (chunks.Count == 0)
            {
                return null;
            }

            byte[] body = new byte[chunks.Sum(c => c.Chunk.Length)];
            int offset = 0;
            foreach (Modification.ReplaceBody chunk in chunks)
            {
                chunk.Chunk.CopyTo(body, offset);
                offset += chunk.Chunk.Length;
            }

            return body;
        }
    }

    public override string ToString() => $"{Reply} after [{Modification.Describe(Modifications)}]";
}
