using System.Text;

namespace AotMilter.Filters.Tests.Infrastructure;

/// <summary>Message bodies built to size: MIME bombs and plain text of a given length.</summary>
internal static class Bodies
{
    public static readonly List<KeyValuePair<string, string>> MixedHeaders = [new("Subject", "parts"), new("Content-Type", "multipart/mixed; boundary=\"b\"")];

    /// <summary><paramref name="text"/> repeated (the last copy cut) to exactly <paramref name="size"/> bytes.</summary>
    public static byte[] Repeat(string text, int size)
    {
        var builder = new StringBuilder(size + text.Length);
        while (builder.Length < size)
        {
            builder.Append(text);
        }

        return Encoding.Latin1.GetBytes(builder.ToString(0, size));
    }

    /// <summary>A multipart/mixed body (boundary "b") of <paramref name="count"/> text/plain parts, each "part N".</summary>
    public static byte[] Parts(int count)
    {
        var body = new StringBuilder();
        for (int i = 1; i <= count; i++)
        {
            body.Append("--b\r\nContent-Type: text/plain\r\n\r\npart ").Append(i).Append("\r\n");
        }

        return Encoding.ASCII.GetBytes(body.Append("--b--\r\n").ToString());
    }
}
