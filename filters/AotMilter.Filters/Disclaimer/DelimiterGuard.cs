using AotMilter.Filters.Mime;

namespace AotMilter.Filters.Disclaimer;

/// <summary>
/// Tells whether a set of edits would make a line of the new body read as a MIME delimiter. An insertion ends the
/// line it lands in: content whose last line is "--b" plus a bare CR, or an HTML line "--b&lt;/body&gt;", becomes the
/// delimiter "--b" once a line break follows it, and the message gains a part. Senders' encoders never write such
/// lines; hostile ones do. Only the lines an edit touches can change, so only those are looked at: from the start of
/// the line the edit begins in to the end of the line it ends in.
/// </summary>
internal static class DelimiterGuard
{
    /// <summary>The byte offset of the first edit that makes a delimiter of any multipart in <paramref name="message"/>, or -1.</summary>
    public static int FindNewDelimiter(ReadOnlySpan<byte> body, MimeEntity message, IReadOnlyList<BodyEdit> edits)
    {
        var boundaries = new OpenMultiparts();
        AddBoundaries(message, boundaries);
        if (boundaries.Count == 0)
        {
            return -1;
        }

        foreach (BodyEdit edit in edits)
        {
            int lineStart = body[..edit.Start].LastIndexOf((byte)'\n') + 1;
            int after = body[edit.End..].IndexOf((byte)'\n');
            int lineEnd = after < 0 ? body.Length : edit.End + after + 1;
            if (HasDelimiter(body[lineStart..edit.Start], edit.Bytes, body[edit.End..lineEnd], boundaries))
            {
                return edit.Start;
            }
        }

        return -1;
    }

    private static void AddBoundaries(MimeEntity entity, OpenMultiparts boundaries)
    {
        if (entity.ContentType.IsMultipart && entity.ContentType.Boundary is { Length: > 0 } boundary)
        {
            boundaries.Push(entity, boundary, ContentType.Default);
        }

        foreach (MimeEntity child in entity.Children)
        {
            AddBoundaries(child, boundaries);
        }
    }

    /// <summary>Looks at each line of <paramref name="before"/> + <paramref name="inserted"/> + <paramref name="rest"/> as the parser would.</summary>
    private static bool HasDelimiter(ReadOnlySpan<byte> before, ReadOnlySpan<byte> inserted, ReadOnlySpan<byte> rest, OpenMultiparts boundaries)
    {
        byte[] window = new byte[before.Length + inserted.Length + rest.Length];
        before.CopyTo(window);
        inserted.CopyTo(window.AsSpan(before.Length));
        rest.CopyTo(window.AsSpan(before.Length + inserted.Length));
        int pos = 0;
        while (pos < window.Length)
        {
            Lines.Next(window, pos, window.Length, out int contentEnd, out int next);
            if (boundaries.Match(window.AsSpan(pos, contentEnd - pos), out _, out _))
            {
                return true;
            }

            pos = next;
        }

        return false;
    }
}
