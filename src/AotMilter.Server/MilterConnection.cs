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
    private const int FramePending = -1;

    private readonly SemaphoreSlim _sendGate = new(1, 1);
    private byte[] _buffer;
    private bool _resumeFrame;
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

                if (required == FramePending)
                {
                    // A callback is still running; the frame stays in the buffer until it is resumed.
                    await WaitForCallbackAsync(stopping).ConfigureAwait(false);
                    continue;
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
            _session.Metrics?.ProtocolError();
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
            await CloseSessionAsync().ConfigureAwait(false);
            Log.ConnectionSummary(_log, _session.Context.ConnectionId, _session.Client ?? "-", _session.Messages,
                _session.QueueId ?? "-", _session.LastVerdict.ToString().ToLowerInvariant(),
                Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            _socket.Dispose();
            _sendGate.Dispose();
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    /// <summary>
    /// Processes every complete frame in the buffer; returns how many bytes the next frame needs in all, or
    /// <see cref="FramePending"/> when a callback of the frame at the front is still running.
    /// </summary>
    private int ProcessBufferedFrames()
    {
        while (!_session.IsQuit)
        {
            ReadOnlySpan<byte> pending = _buffer.AsSpan(_start, _end - _start);
            if (!MilterFrameReader.TryReadFrame(pending, _options.MaxPacketSize, out MilterFrame frame, out int length, out int required))
            {
                return required;
            }

            bool done = _resumeFrame ? _session.Resume(frame) : _session.Process(frame);
            _resumeFrame = !done;
            if (!done)
            {
                return FramePending;
            }

            _start += length;
        }

        return 0;
    }

    /// <summary>
    /// Awaits the running callback. At end of message, progress frames keep the MTA's timeout from expiring
    /// (Sendmail accepts them only there, so only there are they sent).
    /// </summary>
    private async ValueTask WaitForCallbackAsync(CancellationToken stopping)
    {
        ValueTask wait = _session.CompletePendingAsync();
        if (wait.IsCompleted || !_session.IsWaitingForEndOfMessage || _options.ProgressInterval <= TimeSpan.Zero)
        {
            await wait.ConfigureAwait(false);
            return;
        }

        Task running = wait.AsTask();
        while (await Task.WhenAny(running, Task.Delay(_options.ProgressInterval, stopping)).ConfigureAwait(false) != running)
        {
            stopping.ThrowIfCancellationRequested();
            ((IProgressSender)this).SendProgress();
        }

        await running.ConfigureAwait(false);
    }

    private async ValueTask CloseSessionAsync()
    {
        try
        {
            await _session.CloseSessionAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.ConnectionFailed(_log, _session.Context.ConnectionId, ex);
        }
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
        await _sendGate.WaitAsync(stopping).ConfigureAwait(false);
        try
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
        finally
        {
            _sendGate.Release();
        }
    }

    /// <summary>Sends what is buffered plus a progress frame now (a filter is still working at end of message).</summary>
    void IProgressSender.SendProgress()
    {
        // A filter's own Progress() (from any thread) and the connection's timer may both send while a callback
        // runs; replies already buffered go first, so the MTA never mistakes the progress frame for one of them.
        _sendGate.Wait();
        try
        {
            MilterFrameWriter.WriteEmpty(_session.Output, (byte)MilterResponse.Progress);
            ReadOnlySpan<byte> data = _session.Output.WrittenSpan;
            while (!data.IsEmpty)
            {
                data = data[_socket.Send(data)..];
            }

            _session.Output.Reset();
        }
        finally
        {
            _sendGate.Release();
        }
    }
}
