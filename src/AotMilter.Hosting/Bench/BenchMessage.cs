using System.Globalization;
using System.Text;
using AotMilter.Mta;
using AotMilter.Protocol;

namespace AotMilter.Hosting.Bench;

/// <summary>The verdict a message must get: the generator counts any other as an error.</summary>
internal enum BenchVerdict : byte
{
    /// <summary>Accept or continue at end of message (or accept earlier).</summary>
    Accept,

    /// <summary>Reject, or a 5xx reply code.</summary>
    Reject,

    /// <summary>Tempfail, or a 4xx reply code.</summary>
    TempFail,

    Discard,
}

/// <summary>A <c>--message FILE[:VERDICT]</c>: a message file (a directory names every file in it) and its expected verdict.</summary>
internal sealed record BenchMessageFile(string Path, BenchVerdict Expect)
{
    /// <summary>The verdict names <c>FILE:VERDICT</c> takes (continue is accept).</summary>
    public const string VerdictNames = "accept (or continue), reject, tempfail, discard";

    /// <summary>Splits <c>FILE[:VERDICT]</c>; a colon followed by anything but a verdict name is part of the file name.</summary>
    public static BenchMessageFile Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int colon = spec.LastIndexOf(':');
        if (colon > 0 && TryParseVerdict(spec.AsSpan(colon + 1), out BenchVerdict verdict))
        {
            return new BenchMessageFile(spec[..colon], verdict);
        }

        return new BenchMessageFile(spec, BenchVerdict.Accept);
    }

    /// <summary>Why <paramref name="spec"/> names no message, or null: a missing path, an empty directory.</summary>
    public static string? Check(string spec)
    {
        BenchMessageFile file = Parse(spec);
        if (Directory.Exists(file.Path))
        {
            return Directory.GetFiles(file.Path).Length > 0 ? null : $"--message {spec}: the directory holds no file";
        }

        return File.Exists(file.Path) ? null : $"--message {spec}: no such file or directory (a verdict after ':' is one of {VerdictNames})";
    }

    /// <summary>Every file <paramref name="specs"/> name, in the order given (a directory's files sorted by name).</summary>
    public static BenchMessageFile[] Expand(IEnumerable<string> specs)
    {
        ArgumentNullException.ThrowIfNull(specs);
        var files = new List<BenchMessageFile>();
        foreach (string spec in specs)
        {
            BenchMessageFile file = Parse(spec);
            if (Directory.Exists(file.Path))
            {
                string[] inside = Directory.GetFiles(file.Path);
                Array.Sort(inside, StringComparer.Ordinal);
                foreach (string path in inside)
                {
                    files.Add(file with { Path = path });
                }
            }
            else
            {
                files.Add(file);
            }
        }

        return [.. files];
    }

    public static string Name(BenchVerdict verdict) => verdict switch
    {
        BenchVerdict.Reject => "reject",
        BenchVerdict.TempFail => "tempfail",
        BenchVerdict.Discard => "discard",
        _ => "accept",
    };

    private static bool TryParseVerdict(ReadOnlySpan<char> name, out BenchVerdict verdict)
    {
        verdict = name.ToString().ToLowerInvariant() switch
        {
            "accept" or "continue" => BenchVerdict.Accept,
            "reject" => BenchVerdict.Reject,
            "tempfail" => BenchVerdict.TempFail,
            "discard" => BenchVerdict.Discard,
            _ => (BenchVerdict)byte.MaxValue,
        };
        return verdict != (BenchVerdict)byte.MaxValue;
    }
}

/// <summary>
/// One message the generator sends, its frames built once: the header fields, the body chunks, the verdict it must
/// get and what X-Bench must say for it. The generated message (<c>--size</c>, <c>--headers</c>) is one; each
/// <c>--message</c> file is another, split into header fields and body as an MTA reads it (<see cref="Email"/>).
/// </summary>
internal sealed class BenchMessage
{
    private BenchMessage(string name, byte[][] headers, byte[][] headersWithLeadingSpace, byte[][] body, int bodyLength, BenchVerdict expect)
    {
        Name = name;
        Headers = headers;
        HeadersWithLeadingSpace = headersWithLeadingSpace;
        Body = body;
        BodyLength = bodyLength;
        Expect = expect;
        HeaderCount = Encoding.ASCII.GetBytes(headers.Length.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>The file (for error messages), or "generated".</summary>
    public string Name { get; }

    /// <summary>One frame per header field, its value without the space after the colon (as MTAs send it by default).</summary>
    public byte[][] Headers { get; }

    /// <summary>
    /// The same with each value as the message has it after the colon, space included: what an MTA sends a milter that
    /// negotiated <see cref="ProtocolFlags.HeaderLeadingSpace"/>.
    /// </summary>
    public byte[][] HeadersWithLeadingSpace { get; }

    /// <summary>One frame per body chunk (none for an empty body).</summary>
    public byte[][] Body { get; }

    public int BodyLength { get; }

    public BenchVerdict Expect { get; }

    /// <summary>The value X-Bench must have: the number of header fields sent.</summary>
    public byte[] HeaderCount { get; }

    /// <summary>The generated message: <paramref name="headers"/> as milter-load sends them and lines of 76 letters.</summary>
    public static BenchMessage Generated(IReadOnlyList<(string Name, string Value)> headers, int bodySize, int chunk, ByteBufferWriter w)
    {
        var frames = new byte[headers.Count][];
        var spaced = new byte[headers.Count][];
        for (int i = 0; i < frames.Length; i++)
        {
            MilterCommandWriter.WriteHeader(w, headers[i].Name, headers[i].Value);
            frames[i] = Take(w);
            MilterCommandWriter.WriteHeader(w, headers[i].Name, " " + headers[i].Value);
            spaced[i] = Take(w);
        }

        byte[] body = new byte[bodySize];
        for (int i = 0; i < body.Length; i++)
        {
            int column = i % 78;
            body[i] = column == 76 ? (byte)'\r' : column == 77 ? (byte)'\n' : (byte)('A' + (i / 78 % 26));
        }

        return new BenchMessage("generated", frames, spaced, Chunks(body, chunk, w), body.Length, BenchVerdict.Accept);
    }

    /// <summary>
    /// A message file as an MTA passes it on: an mbox "From " line is dropped, each header field goes in a frame of
    /// its own (its value without the one space after the colon, or with it for a milter that asked for it, folded lines
    /// joined by LF, as <see cref="MtaSession"/> sends them), the body with CRLF line ends in chunks.
    /// </summary>
    public static BenchMessage Load(BenchMessageFile file, int chunk, ByteBufferWriter w)
    {
        ArgumentNullException.ThrowIfNull(file);
        Email email = Email.Load(file.Path);
        var frames = new byte[email.Headers.Count][];
        var spaced = new byte[email.Headers.Count][];
        for (int i = 0; i < frames.Length; i++)
        {
            EmailHeader header = email.Headers[i];
            ReadOnlySpan<byte> value = header.ValueBytes;
            MilterCommandWriter.WriteHeader(w, header.NameBytes, value);
            spaced[i] = Take(w);
            if (value.Length > 0 && value[0] == (byte)' ')
            {
                value = value[1..];
            }

            MilterCommandWriter.WriteHeader(w, header.NameBytes, value);
            frames[i] = Take(w);
        }

        return new BenchMessage(file.Path, frames, spaced, Chunks(email.Body, chunk, w), email.Body.Length, file.Expect);
    }

    public static byte[] Take(ByteBufferWriter w)
    {
        ArgumentNullException.ThrowIfNull(w);
        byte[] bytes = w.WrittenSpan.ToArray();
        w.Reset();
        return bytes;
    }

    private static byte[][] Chunks(byte[] body, int chunk, ByteBufferWriter w)
    {
        var frames = new byte[(body.Length + chunk - 1) / chunk][];
        for (int i = 0; i < frames.Length; i++)
        {
            int offset = i * chunk;
            MilterCommandWriter.WriteBody(w, body.AsSpan(offset, Math.Min(chunk, body.Length - offset)));
            frames[i] = Take(w);
        }

        return frames;
    }
}
