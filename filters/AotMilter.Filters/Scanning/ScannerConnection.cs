using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace AotMilter.Filters.Scanning;

/// <summary>
/// One socket to a scanner daemon with a small receive buffer that a protocol reads its reply from. The buffer
/// starts at <see cref="InitialBuffer"/> bytes and grows by doubling up to the protocol's reply limit; a reply larger
/// than that is a <see cref="ScanErrorKind.Protocol"/> error, so a scanner can make a connection hold at most that
/// limit. Every operation takes the scan's cancellation token; a cancelled operation leaves the socket unusable, and
/// the caller disposes it instead of returning it to the pool.
/// </summary>
public sealed class ScannerConnection : IDisposable
{
    public const int InitialBuffer = 4096;

    private readonly Socket _socket;
    private byte[] _buffer = new byte[InitialBuffer];
    private int _start;
    private int _end;

    private ScannerConnection(Socket socket) => _socket = socket;

    /// <summary>When this connection was last given back to the pool (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    internal long IdleSince { get; set; }

    /// <summary>True when the connection came from the pool rather than a new connect.</summary>
    public bool Reused { get; internal set; }

    /// <summary>Requests sent on this connection (protocols that number their requests use it).</summary>
    public int Requests { get; set; }

    /// <summary>The bytes received and not yet consumed.</summary>
    public ReadOnlySpan<byte> Buffered => _buffer.AsSpan(_start, _end - _start);

    /// <summary>As <see cref="Buffered"/>, as memory (for parsers that take it).</summary>
    public ReadOnlyMemory<byte> BufferedMemory => _buffer.AsMemory(_start, _end - _start);

    /// <summary>Connects to <paramref name="address"/>; failures become <see cref="ScanErrorKind.Connect"/>.</summary>
    public static async ValueTask<ScannerConnection> ConnectAsync(ScannerAddress address, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        Socket socket = address.EndPoint switch
        {
            UnixDomainSocketEndPoint => new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified),
            IPEndPoint ip => new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp),
            _ => new Socket(SocketType.Stream, ProtocolType.Tcp),
        };
        try
        {
            if (!address.IsUnix)
            {
                socket.NoDelay = true;
            }

            await socket.ConnectAsync(address.EndPoint, cancellationToken).ConfigureAwait(false);
            return new ScannerConnection(socket);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new ScanException(ScanErrorKind.Connect, $"cannot connect to {address}: {ex.Message}", ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends every byte of <paramref name="data"/>.</summary>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        try
        {
            while (!data.IsEmpty)
            {
                int sent = await _socket.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                data = data[sent..];
            }
        }
        catch (SocketException ex)
        {
            throw new ScanException(ScanErrorKind.Closed, $"the scanner closed the connection while we sent ({ex.Message})", ex);
        }
    }

    /// <summary>
    /// Tells the scanner the request is complete by closing our sending side (spamc does so: spamd reads the message
    /// by lines, and a last line without its line end waits for the end of the stream). The connection cannot be
    /// reused afterwards.
    /// </summary>
    public void EndRequest()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException ex)
        {
            throw new ScanException(ScanErrorKind.Closed, $"the scanner closed the connection while we sent ({ex.Message})", ex);
        }
    }

    /// <summary>
    /// Reads more of the reply into the buffer; false when the scanner closed the connection. Throws when
    /// <paramref name="maxReply"/> bytes are buffered and the protocol still needs more.
    /// </summary>
    public async ValueTask<bool> FillAsync(int maxReply, CancellationToken cancellationToken)
    {
        if (_start > 0 && _start == _end)
        {
            _start = _end = 0;
        }

        if (_end == _buffer.Length)
        {
            MakeRoom(maxReply);
        }

        try
        {
            int read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            _end += read;
            return read > 0;
        }
        catch (SocketException ex)
        {
            throw new ScanException(ScanErrorKind.Closed, $"the connection to the scanner failed while we read ({ex.Message})", ex);
        }
    }

    /// <summary>Marks <paramref name="count"/> buffered bytes as read.</summary>
    public void Consume(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _end - _start);
        _start += count;
        if (_start == _end)
        {
            _start = _end = 0;
        }
    }

    /// <summary>
    /// True when a pooled connection still looks usable: the scanner has not closed it (a readable socket with nothing
    /// to read is a close) and sent nothing unasked.
    /// </summary>
    internal bool LooksAlive()
    {
        try
        {
            return _start == _end && !_socket.Poll(0, SelectMode.SelectRead) && !_socket.Poll(0, SelectMode.SelectError);
        }
        catch (SocketException)
        {
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Gives back a buffer a large reply grew, so an idle connection holds only <see cref="InitialBuffer"/> bytes.</summary>
    internal void Shrink()
    {
        if (_buffer.Length > InitialBuffer && _start == _end)
        {
            _buffer = new byte[InitialBuffer];
            _start = _end = 0;
        }
    }

    public void Dispose() => _socket.Dispose();

    private void MakeRoom(int maxReply)
    {
        int pending = _end - _start;
        if (_start > 0)
        {
            // Unread bytes move to the front before the buffer grows.
            _buffer.AsSpan(_start, pending).CopyTo(_buffer);
            _start = 0;
            _end = pending;
            return;
        }

        if (_buffer.Length >= maxReply)
        {
            throw new ScanException(ScanErrorKind.Protocol, $"the scanner's reply is longer than {maxReply} bytes");
        }

        byte[] bigger = new byte[Math.Min(_buffer.Length * 2, maxReply)];
        _buffer.AsSpan(0, pending).CopyTo(bigger);
        _buffer = bigger;
    }
}
