using AotMilter.Protocol;

namespace AotMilter.Server;

/// <summary>Progress frames at end of message while a filter works, written by the loop only.</summary>
internal sealed partial class MilterConnection
{
    /// <summary>
    /// Sends a progress frame now (a filter is still working at end of message). From a synchronous callback the
    /// loop is inside this connection and writes it itself; from any other thread the loop is asked to, since only
    /// the loop writes to the socket. Outside end of message it sends nothing.
    /// </summary>
    void IProgressSender.SendProgress()
    {
        if (_loop.IsCurrentThread)
        {
            // A synchronous callback: only an end of message's counts (an editor kept past it must not answer for
            // the filter at another stage).
            if (_session.IsInEndOfMessage)
            {
                SendProgressNow();
            }

            return;
        }

        if (Interlocked.Exchange(ref _progressRequested, 1) == 0)
        {
            _loop.Post(_progressRequest);
        }
    }

    private void OnProgressRequested()
    {
        Volatile.Write(ref _progressRequested, 0);

        // Only while an end of message is pending and before its deadline: after the reply, progress would be taken
        // for the answer to the next command; past the deadline it would hold off the MTA's own timeout.
        if (_state == State.Waiting && !_hungUp && !_callbackCancelled && _session.IsWaitingForEndOfMessage)
        {
            SendProgressNow();
        }
    }

    /// <summary>Queues a progress frame and sends what the socket takes without waiting; a failure is left for the next read or write to find.</summary>
    private void SendProgressNow()
    {
        MilterFrameWriter.WriteEmpty(_replies, (byte)MilterResponse.Progress);
        try
        {
            TryFlush();
        }
        catch (ConnectionIOException)
        {
            // The MTA is gone: a hang-up while waiting is noticed by epoll; otherwise the next write fails again.
        }
    }

    /// <summary>A progress request handed to the loop (one per connection, reused).</summary>
    private sealed class ProgressRequest(MilterConnection connection) : ILoopWork
    {
        public void Execute()
        {
            try
            {
                connection.OnProgressRequested();
            }
            catch (Exception ex)
            {
                connection.Fail(ex);
            }
        }
    }
}
