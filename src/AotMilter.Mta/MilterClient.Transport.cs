using System.Buffers;
using System.Net.Sockets;
using AotMilter.Protocol;

namespace AotMilter.Mta;

/// <summary>The bytes on the stream: sending the queued frames, framing what comes back, and raw access for malformed input.</summary>
public sealed partial class MilterClient
{
    /// <summary>Sends one frame with any command byte and payload, bypassing every check.</summary>
    public Task SendFrameAsync(byte command, ReadOnlyMemory<byte> payload = default)
    {
        MilterFrameWriter.Write(_output, command, payload.Span);
        return SendWithoutReplyAsync($"frame '{(char)command}'");
    }

    /// <summary>Sends raw bytes (a partial frame, a bogus length field …).</summary>
    public Task SendBytesAsync(ReadOnlyMemory<byte> bytes)
    {
        _output.Write(bytes.Span);
        return SendWithoutReplyAsync("raw bytes");
    }

    /// <summary>Reads the next frame, whatever it is; null when the milter closed the connection.</summary>
    /// <exception cref="TimeoutException">No frame arrived within the timeout.</exception>
    public async Task<RawFrame?> ReadFrameAsync()
    {
        using CancellationTokenSource deadline = StartDeadline();
        return await ReadFrameCoreAsync("a frame", deadline.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits until the milter closes the connection. True when it did within the timeout; false when it sent a frame
    /// instead (the frame is consumed) or stayed open.
    /// </summary>
    public async Task<bool> WaitForCloseAsync(TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? Timeout);
        try
        {
            return await ReadFrameCoreAsync("the connection to close", deadline.Token).ConfigureAwait(false) is null;
        }
        catch (TimeoutException)
        {
            return false;
        }
        catch (EndOfStreamException)
        {
            return true;
        }
    }

    private CancellationTokenSource StartDeadline() => new(Timeout);

    private async Task SendWithoutReplyAsync(string what)
    {
        using CancellationTokenSource deadline = StartDeadline();
        await FlushAsync(what, deadline.Token).ConfigureAwait(false);
    }

    private async Task FlushAsync(string what, CancellationToken deadline)
    {
        try
        {
            await _stream.WriteAsync(_output.WrittenMemory, deadline).ConfigureAwait(false);
            await _stream.FlushAsync(deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"{what}: the milter did not take the data within {Timeout.TotalSeconds:0.###}s");
        }
        finally
        {
            _output.Reset();
        }
    }

    private async Task<RawFrame> ReadRequiredFrameAsync(char replyTo, CancellationToken deadline)
        => await ReadFrameCoreAsync($"reply to '{replyTo}'", deadline).ConfigureAwait(false)
            ?? throw new EndOfStreamException($"the milter closed the connection instead of replying to '{replyTo}'");

    private async Task<RawFrame?> ReadFrameCoreAsync(string waitingFor, CancellationToken deadline)
    {
        while (true)
        {
            if (TryTakeFrame(out RawFrame? frame, out int required))
            {
                return frame;
            }

            if (_endOfStream)
            {
                if (_input.UnreadLength > 0)
                {
                    throw new EndOfStreamException(
                        $"the milter closed the connection in the middle of a frame ({_input.UnreadLength} of {required} bytes)");
                }

                return null;
            }

            _input.MakeRoom(required);
            int received;
            try
            {
                received = await _stream.ReadAsync(_input.FreeMemory, deadline).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                throw new TimeoutException($"no {waitingFor} from the milter within {Timeout.TotalSeconds:0.###}s");
            }
            catch (IOException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
            {
                // A peer that closes with unread input resets the connection: for the MTA that is a close like any other.
                received = 0;
            }

            if (received == 0)
            {
                _endOfStream = true;
            }
            else
            {
                _input.Commit(received);
            }
        }
    }

    private bool TryTakeFrame(out RawFrame? frame, out int required)
    {
        if (!MilterFrameReader.TryReadFrame(_input.Unread, MaxPacketSize, out MilterFrame f, out int length, out required))
        {
            frame = null;
            return false;
        }

        frame = new RawFrame(f.Command, f.Payload.ToArray());
        _input.Consume(length);
        return true;
    }
}
