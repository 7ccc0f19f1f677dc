using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using AotMilter.Protocol;
using Microsoft.Extensions.Logging;

namespace AotMilter.Server;

/// <summary>
/// The connection loop: receive into one contiguous buffer, hand every complete frame to the session, send the
/// replies of the whole batch in one write, repeat. A frame never straddles two buffers, so parsing works on spans
/// with no copy. Bad input closes this connection only, with one log line saying why.
/// </summary>
internal sealed class MilterConnection : IProgressSender
{
    private const int InitialBufferSize = 8 * 1024;
    private const int RetainedBufferSize = 64 * 1024;

    private readonly Socket _socket;
    private readonly MilterSession _session;
    private readonly MilterServerOptions _options;
    private readonly ILogger _log;
    private byte[] _buffer;
    private int _start;
    private int _end;

    public MilterConnection(Socket socket, MilterSession session, MilterServerOptions options, ILogger log)
    {
        _socket = socket;
        _session = session;
        _options = options;
        _log = log;
        _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferSize);
        session.Progress = this;
    }

    public async Task RunAsync(CancellationToken stopping)
    {
        long started = Stopwatch.GetTimestamp();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        try
        {
            while (true)
            {
                int required = ProcessBufferedFrames();
                if (_session.Output.WrittenCount > 0)
                {
                    await SendOutputAsync(stopping).ConfigureAwait(false);
                }

                if (_session.IsQuit)
                {
                    break;
                }

                MakeRoom(required);
                timeout.CancelAfter(_options.ReadTimeout);
                int received;
                try
                {
                    received = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
                {
                    Log.ConnectionDropped(_log, _session.Context.ConnectionId, $"no command from the MTA for {_options.ReadTimeout.TotalSeconds:0}s");
                    break;
                }

                if (received == 0)
                {
                    if (_end > _start)
                    {
                        Log.ConnectionDropped(_log, _session.Context.ConnectionId, $"MTA closed the connection in the middle of a frame ({_end - _start} bytes pending)");
                    }

                    break;
                }

                _end += received;
            }
        }
        catch (MilterProtocolException ex)
        {
            Log.ProtocolError(_log, _session.Context.ConnectionId, ex.Error.ToString(), ex.Message);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            Log.ConnectionDropped(_log, _session.Context.ConnectionId, "daemon shutting down");
        }
        catch (SocketException ex)
        {
            Log.ConnectionDropped(_log, _session.Context.ConnectionId, $"socket error: {ex.SocketErrorCode}");
        }
        finally
        {
            _session.CloseSession();
            Log.ConnectionSummary(_log, _session.Context.ConnectionId, _session.Client ?? "-", _session.Messages,
                _session.QueueId ?? "-", _session.LastVerdict.ToString().ToLowerInvariant(),
                Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            _socket.Dispose();
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    /// <summary>Processes every complete frame in the buffer; returns how many bytes the next frame needs in all.</summary>
    private int ProcessBufferedFrames()
    {
        while (!_session.IsQuit)
        {
            ReadOnlySpan<byte> pending = _buffer.AsSpan(_start, _end - _start);
            if (!MilterFrameReader.TryReadFrame(pending, _options.MaxPacketSize, out MilterFrame frame, out int length, out int required))
            {
                return required;
            }

            _session.Process(frame);
            _start += length;
        }

        return 0;
    }

    /// <summary>Moves the unparsed tail to the front and grows (or shrinks back) the buffer for the next frame.</summary>
    private void MakeRoom(int required)
    {
        int pending = _end - _start;
        int wanted = Math.Max(required, pending + 1);
        if (pending == 0 && _buffer.Length > RetainedBufferSize && required <= InitialBufferSize)
        {
            // One huge frame should not pin a huge buffer for the rest of the connection.
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferSize);
            _start = 0;
            _end = 0;
            return;
        }
        else if (wanted > _buffer.Length)
        {
            byte[] bigger = ArrayPool<byte>.Shared.Rent(Math.Max(wanted, _buffer.Length * 2));
            _buffer.AsSpan(_start, pending).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
            _start = 0;
            _end = pending;
            return;
        }

        if (_start > 0)
        {
            _buffer.AsSpan(_start, pending).CopyTo(_buffer);
            _start = 0;
            _end = pending;
        }
    }

    private async ValueTask SendOutputAsync(CancellationToken stopping)
    {
        ReadOnlyMemory<byte> data = _session.Output.WrittenMemory;
        while (!data.IsEmpty)
        {
            int sent = await _socket.SendAsync(data, SocketFlags.None, stopping).ConfigureAwait(false);
            data = data[sent..];
        }

        _session.Output.Reset();
        _session.Output.ShrinkTo(RetainedBufferSize);
    }

    /// <summary>Sends what is buffered plus a progress frame now (a filter is still working at end of message).</summary>
    void IProgressSender.SendProgress()
    {
        MilterFrameWriter.WriteEmpty(_session.Output, (byte)MilterResponse.Progress);
        ReadOnlySpan<byte> data = _session.Output.WrittenSpan;
        while (!data.IsEmpty)
        {
            data = data[_socket.Send(data)..];
        }

        _session.Output.Reset();
    }
}
