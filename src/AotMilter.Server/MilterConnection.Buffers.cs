using System.Buffers;
using AotMilter.Protocol;
using AotMilter.Server.Interop;

namespace AotMilter.Server;

/// <summary>The receive buffer (grown for a large frame against the memory budget, shrunk when idle) and the send side.</summary>
internal sealed partial class MilterConnection
{
    /// <summary>Sends what it can without blocking; true when nothing is left.</summary>
    private unsafe bool TryFlush()
    {
        ReadOnlySpan<byte> data = _replies.WrittenSpan[_sent..];
        while (!data.IsEmpty)
        {
            nint sent;
            fixed (byte* bytes = data)
            {
                sent = Libc.Send(_fd, bytes, data.Length, Libc.MSG_NOSIGNAL | Libc.MSG_DONTWAIT);
            }

            if (sent < 0)
            {
                int error = Libc.LastError;
                if (error == Libc.EINTR)
                {
                    continue;
                }

                if (error == Libc.EAGAIN)
                {
                    return false;
                }

                throw new ConnectionIOException(error);
            }

            _sent += (int)sent;
            if (_sent - _flushMark >= FlushProgressBytes)
            {
                _flushMark = _sent;
                _flushSince = Now;
            }

            data = data[(int)sent..];
        }

        _sent = 0;
        _flushMark = 0;
        _replies.Reset();
        _replies.ShrinkTo(RepliesWorkingSize);
        return true;
    }

    /// <summary>
    /// Moves the unparsed tail to the front and grows the buffer for the next frame (<see cref="ShrinkIdleBuffer"/>
    /// gives it back); false when the memory budget has no room for the frame.
    /// </summary>
    private bool MakeRoom(int required)
    {
        int pending = _end - _start;
        int wanted = Math.Max(required, pending + 1);
        if (wanted > _buffer.Length)
        {
            // Doubling, but never past the largest frame allowed: a frame's buffer is at most its own size.
            long largest = (long)_options.MaxPacketSize + MilterFrameReader.HeaderSize;
            int capacity = (int)Math.Max(wanted, Math.Min((long)_buffer.Length * 2, largest));

            // Everything past the working size counts against the budget; up to RetainedBufferSize it comes from the
            // shared pool, beyond it from the GC, not pooled, so it goes back after the frame (the shared pool keeps
            // what it is given, for ever).
            long reserved = capacity - InitialBufferSize;
            if (_budget is not null && !_budget.TryReserve(reserved))
            {
                return false;
            }

            byte[] bigger = capacity <= RetainedBufferSize ? ArrayPool<byte>.Shared.Rent(capacity) : GC.AllocateUninitializedArray<byte>(capacity);
            _buffer.AsSpan(_start, pending).CopyTo(bigger);
            FreeBuffer();
            _buffer = bigger;
            _bufferReserved = reserved;
            _start = 0;
            _end = pending;
            return true;
        }

        if (_start > 0)
        {
            _buffer.AsSpan(_start, pending).CopyTo(_buffer);
            _start = 0;
            _end = pending;
        }

        return true;
    }

    /// <summary>
    /// A buffer grown for a large frame goes back to its working size once nothing is pending at a tick: one huge
    /// frame does not pin a huge buffer for the rest of the connection, while a run of large frames (a peer sending
    /// big headers back to back) reuses one buffer instead of allocating one per frame.
    /// </summary>
    private void ShrinkIdleBuffer()
    {
        if (_end == _start && _buffer.Length > InitialBufferSize)
        {
            FreeBuffer();
            _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferSize);
            _start = 0;
            _end = 0;
        }
    }

    /// <summary>Gives the receive buffer back to the budget, and to the shared pool (up to 64 KiB) or the GC.</summary>
    private void FreeBuffer()
    {
        _budget?.Release(_bufferReserved);
        _bufferReserved = 0;
        if (_buffer.Length is > 0 and <= RetainedBufferSize)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = [];
    }

    /// <summary>Gives back what this connection's session and replies grew past their working sizes (the connection ended).</summary>
    private void ReleaseSessionBuffers()
    {
        _replies.Reset();
        _replies.ShrinkTo(RepliesPooledSize);
        _session.ReleaseBuffers();
    }
}
