using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AotMilter.Hosting;

namespace AotMilter.Filters.Redis;

/// <summary>
/// The socket side: a non-blocking socket read by the I/O thread the connection belongs to (<see cref="IoThread"/>),
/// or, for a connection made off the I/O threads, by a reader thread of its own waiting in poll(2); never by the
/// runtime's socket engine, which would wake its epoll thread and then a thread-pool thread for every batch of
/// replies (whose workers spin before they sleep: on a small machine that spinning cost more CPU than Redis's own
/// work per message). On an I/O thread a reply completes the callback waiting for it with no other thread woken at
/// all. Commands are sent by the caller's thread as far as the socket takes them; the rest, rare, by a task that
/// waits for the socket to drain.
/// </summary>
public sealed partial class RedisConnection
{
    private const int ReceiveChunk = 16 * 1024;

    // How long the reader waits in poll(2) before looking whether the connection was closed meanwhile.
    private const int ReaderPollMicroseconds = 500_000;

    /// <summary>
    /// Connects within <paramref name="timeout"/>; then <paramref name="io"/> reads the replies, or, when it is null,
    /// a reader thread started here.
    /// </summary>
    public static async Task<RedisConnection> ConnectAsync(RedisEndpoint endpoint, TimeSpan timeout, IoThread? io = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        EndPoint target = endpoint.UnixPath is not null ? endpoint.ToEndPoint()
            : new IPEndPoint(IPAddress.TryParse(endpoint.Host, out IPAddress? address) ? address : await ResolveAsync(endpoint.Host, timeout).ConfigureAwait(false), endpoint.Port);
        var socket = new Socket(target.AddressFamily, SocketType.Stream, endpoint.UnixPath is null ? ProtocolType.Tcp : ProtocolType.Unspecified);
        try
        {
            socket.Blocking = false;
            if (endpoint.UnixPath is null)
            {
                socket.NoDelay = true;
            }

            try
            {
                socket.Connect(target);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
            {
                // The connection is being made: wait until the socket is writable (connected) or failed, off the caller.
                await Task.Run(() => AwaitConnected(socket, timeout)).ConfigureAwait(false);
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var connection = new RedisConnection(socket, endpoint.ToString(), io);
        if (io is null)
        {
            new Thread(connection.ReadReplies) { IsBackground = true, Name = "redis reader" }.Start();
        }
        else
        {
            io.Watch(socket, connection.ReceiveAvailable);
        }

        return connection;
    }

    private static async Task<IPAddress> ResolveAsync(string host, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        IPAddress[] addresses = await Dns.GetHostAddressesAsync(host, cancel.Token).ConfigureAwait(false);
        return addresses.Length > 0 ? addresses[0] : throw new RedisException($"{host} has no address");
    }

    private static void AwaitConnected(Socket socket, TimeSpan timeout)
    {
        if (!socket.Poll((int)Math.Min(int.MaxValue, timeout.TotalMicroseconds), SelectMode.SelectWrite))
        {
            throw new RedisException($"no connection within {timeout.TotalMilliseconds:0} ms") { Reason = "timeout" };
        }

        int error = (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
        if (error != 0)
        {
            throw new SocketException(error);
        }
    }

    /// <summary>Sends what callers queued while their requests waited behind others (see <see cref="Send"/>).</summary>
    private void FlushQueued()
    {
        bool start;
        lock (_gate)
        {
            start = !_flushing && _outgoing.WrittenCount > 0;
            _flushing |= start;
        }

        if (start)
        {
            Flush();
        }
    }

    /// <summary>The I/O thread's end of a wake-up in which its callbacks queued commands: they go out together.</summary>
    private void FlushDeferred()
    {
        lock (_gate)
        {
            _flushDeferred = false;
        }

        FlushQueued();
    }

    /// <summary>Sends what is queued, on the calling thread, as far as the socket takes it without blocking.</summary>
    private void Flush()
    {
        try
        {
            while (true)
            {
                lock (_gate)
                {
                    if (_sent == _sending.WrittenCount)
                    {
                        _sending.Clear();
                        _sent = 0;
                        if (_outgoing.WrittenCount == 0 || _failure is not null)
                        {
                            _flushing = false;
                            return;
                        }

                        (_sending, _outgoing) = (_outgoing, _sending);
                    }
                }

                int sent = _socket.Send(_sending.WrittenSpan[_sent..], SocketFlags.None, out SocketError error);
                if (error == SocketError.WouldBlock)
                {
                    // Redis is not reading as fast as we write: wait for room off the caller's thread.
                    _ = Task.Run(FlushWhenWritable);
                    return;
                }

                if (error != SocketError.Success)
                {
                    throw new SocketException((int)error);
                }

                _sent += sent;
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            Fail(ex);
        }
    }

    private void FlushWhenWritable()
    {
        try
        {
            while (!_socket.Poll(ReaderPollMicroseconds, SelectMode.SelectWrite))
            {
                if (!IsOpen)
                {
                    return;
                }
            }

            Flush();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            Fail(ex);
        }
    }

    /// <summary>The reader thread: waits in poll(2), then reads what came.</summary>
    private void ReadReplies()
    {
        while (IsOpen)
        {
            try
            {
                if (!_socket.Poll(ReaderPollMicroseconds, SelectMode.SelectRead))
                {
                    continue;
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                Fail(ex);
                return;
            }

            ReceiveAvailable();
        }
    }

    /// <summary>
    /// Reads what the socket holds, completes the requests it answers, then sends what callers queued meanwhile.
    /// Runs on one thread per connection: its reader thread or its I/O thread.
    /// </summary>
    private void ReceiveAvailable()
    {
        try
        {
            while (IsOpen)
            {
                if (_receivedCount == _received.Length)
                {
                    // A reply larger than the buffer: grow, within the reply bound RespReader enforces.
                    Array.Resize(ref _received, _received.Length * 2);
                }

                int room = _received.Length - _receivedCount;
                int received = _socket.Receive(_received.AsSpan(_receivedCount), SocketFlags.None, out SocketError error);
                if (error == SocketError.WouldBlock)
                {
                    break;
                }

                if (error != SocketError.Success)
                {
                    throw new SocketException((int)error);
                }

                if (received == 0)
                {
                    Fail(new RedisException($"{Name} closed the connection"));
                    return;
                }

                _receivedCount += received;
                int used = Dispatch(_received.AsSpan(0, _receivedCount));
                _received.AsSpan(used, _receivedCount - used).CopyTo(_received);
                _receivedCount -= used;
                if (received < room)
                {
                    // The socket had less than the buffer could take: it is empty now, and a recv more would only say so.
                    break;
                }
            }

            FlushQueued();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or RedisException)
        {
            Fail(ex);
        }
        catch (Exception ex)
        {
            // Nothing thrown may end the process: a continuation that threw is the caller's bug, not the daemon's end.
            Fail(new RedisException($"the reader of {Name} failed: {ex.Message}", ex));
        }
    }
}
