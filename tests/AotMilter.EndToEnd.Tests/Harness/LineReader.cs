using System.Text;

namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>Reads LF-terminated lines as raw bytes (terminator included) from a stream; used on both ends of SMTP.</summary>
public sealed class LineReader(Stream stream, int maxLineLength = 1 << 20)
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    /// <summary>The next line including its CRLF/LF, or null at end of stream (a partial last line is returned as is).</summary>
    public async Task<byte[]?> ReadLineAsync(CancellationToken cancellationToken)
    {
        using var line = new MemoryStream();
        while (true)
        {
            if (_start == _end)
            {
                _start = 0;
                _end = await stream.ReadAsync(_buffer, cancellationToken);
                if (_end == 0)
                {
                    return line.Length == 0 ? null : line.ToArray();
                }
            }

            var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            var take = (newline < 0 ? _end : newline + 1) - _start;
            line.Write(_buffer, _start, take);
            _start += take;
            if (newline >= 0)
            {
                return line.ToArray();
            }

            if (line.Length > maxLineLength)
            {
                throw new InvalidDataException($"line longer than {maxLineLength} bytes");
            }
        }
    }

    /// <summary>The next line as text without its terminator, or null at end of stream.</summary>
    public async Task<string?> ReadTextLineAsync(CancellationToken cancellationToken)
    {
        var line = await ReadLineAsync(cancellationToken);
        return line is null ? null : Encoding.UTF8.GetString(line).TrimEnd('\r', '\n');
    }
}
