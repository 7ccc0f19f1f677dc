using System.Text;

namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>Message bodies for tests.</summary>
public static class Bodies
{
    /// <summary>
    /// A deterministic 7-bit body of at least <paramref name="minimumBytes"/> bytes in CRLF lines of at most 78
    /// characters (MTAs may fold or re-encode longer or 8-bit lines, which would not be the milter's doing). It
    /// contains the awkward cases of SMTP transparency: lines starting with a dot, a line that is a lone dot, a
    /// "From " line, tabs, trailing blanks and empty lines.
    /// </summary>
    public static byte[] Large(int minimumBytes)
    {
        var body = new StringBuilder();
        for (var line = 0; body.Length < minimumBytes; line++)
        {
            body.Append((line % 10) switch
            {
                0 => $".line {line} starts with a dot",
                1 => ".",
                2 => $"From line {line}, which mbox-style code likes to quote",
                3 => $"\tline {line} starts with a tab and ends with blanks  ",
                4 => "",
                5 => $"..line {line} starts with two dots",
                _ => $"line {line:D6} " + new string((char)('a' + (line % 26)), 60),
            });
            body.Append("\r\n");
        }

        return Encoding.ASCII.GetBytes(body.ToString());
    }
}
