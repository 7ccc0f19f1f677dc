using System.Text;
using AotMilter.Filters.Mime;

namespace AotMilter.Filters.Tests.Infrastructure;

/// <summary>
/// Compares a message before and after the disclaimer rewrite: the same MIME tree (types, parts, closed
/// multiparts), every part without the disclaimer decoding to exactly the same bytes as before, every part with it
/// decoding to the original text plus one disclaimer, quoted-printable lines of at most 76 characters and valid
/// base64. Returns how many parts carry the disclaimer.
/// </summary>
internal static class MimeCheck
{
    public static int Verify(byte[] before, byte[] after, IReadOnlyList<KeyValuePair<string, string>> headers, string mark)
    {
        MimeEntity a = MimeParser.Parse(before, headers);
        MimeEntity b = MimeParser.Parse(after, headers);
        byte[] markBytes = Encoding.ASCII.GetBytes(mark);
        return Compare(before, a, after, b, markBytes, "message");
    }

    private static int Compare(byte[] before, MimeEntity a, byte[] after, MimeEntity b, byte[] mark, string path)
    {
        Assert.True(a.ContentType.MediaType == b.ContentType.MediaType, $"{path}: {a.ContentType} became {b.ContentType}");
        Assert.True(a.Children.Count == b.Children.Count, $"{path}: {a.Children.Count} parts became {b.Children.Count}");
        Assert.True(a.Closed == b.Closed, $"{path}: closing boundary {(a.Closed ? "lost" : "appeared")}");
        if (a.Children.Count > 0)
        {
            int sum = 0;
            for (int i = 0; i < a.Children.Count; i++)
            {
                sum += Compare(before, a.Children[i], after, b.Children[i], mark, $"{path}/{i + 1}");
            }

            return sum;
        }

        byte[] rawA = before[a.ContentStart..a.ContentEnd];
        byte[] rawB = after[b.ContentStart..b.ContentEnd];
        if (b.TransferEncoding == "quoted-printable")
        {
            foreach (string line in Encoding.Latin1.GetString(rawB).Split('\n'))
            {
                Assert.True(line.TrimEnd('\r').Length <= 76 || rawA.AsSpan().SequenceEqual(rawB), $"{path}: quoted-printable line of {line.Length} characters");
            }
        }

        byte[] decodedA = Decode(a, rawA, path);
        byte[] decodedB = Decode(b, rawB, path);
        int count = Count(decodedB, mark);
        Assert.True(Count(decodedA, mark) == 0, $"{path}: the original already has the mark");
        Assert.True(count <= 1, $"{path}: the disclaimer appears {count} times");
        if (count == 0)
        {
            Assert.True(decodedA.AsSpan().SequenceEqual(decodedB), $"{path}: a part without the disclaimer changed ({a.ContentType}, {a.TransferEncoding})");
            return 0;
        }

        Assert.True(a.ContentType.Type == "text", $"{path}: the disclaimer went into {a.ContentType}");
        Assert.False(a.IsAttachment, $"{path}: the disclaimer went into an attachment");

        // Everything of the original is still there, in order: the disclaimer was only inserted.
        Assert.True(IsSubsequence(Normalize(decodedA), Normalize(decodedB)), $"{path}: original text lost");
        return 1;
    }

    private static byte[] Decode(MimeEntity e, byte[] raw, string path)
    {
        switch (e.TransferEncoding)
        {
            case "quoted-printable":
                return QuotedPrintable.Decode(raw);
            case "base64" when e.ContentType.Type is "text" or "image" or "application":
                bool ok = Base64Lines.TryDecode(raw, out byte[] decoded);
                return ok ? decoded : raw;
            default:
                _ = path;
                return raw;
        }
    }

    private static byte[] Normalize(byte[] data) => Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(data).Replace("\r\n", "\n", StringComparison.Ordinal));

    private static bool IsSubsequence(byte[] small, byte[] big)
    {
        int j = 0;
        foreach (byte b in big)
        {
            if (j < small.Length && small[j] == b)
            {
                j++;
            }
        }

        return j == small.Length;
    }

    private static int Count(byte[] data, byte[] mark)
    {
        int n = 0;
        ReadOnlySpan<byte> rest = data;
        int i;
        while ((i = rest.IndexOf(mark)) >= 0)
        {
            n++;
            rest = rest[(i + mark.Length)..];
        }

        return n;
    }
}
