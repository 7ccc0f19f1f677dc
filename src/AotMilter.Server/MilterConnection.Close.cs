using System.Diagnostics;
using AotMilter.Protocol;
using AotMilter.Server.Interop;

namespace AotMilter.Server;

/// <summary>How a connection ends: a failure, the descriptor given back, the close callbacks, the pool.</summary>
internal sealed partial class MilterConnection
{
    private void Fail(Exception exception)
    {
        switch (exception)
        {
            case MilterProtocolException ex:
                _session.Metrics.ProtocolError();
                Log.ProtocolError(_log, Id, ex.Error.ToString(), ex.Message);
                Close(null);
                break;
            case ConnectionIOException ex:
                Close($"socket error: {ex.Message}");
                break;
            default:
                // A bug, not bad input: close this connection, say so, keep serving the others.
                Log.ConnectionFailed(_log, Id, exception);
                Close(null);
                break;
        }
    }

    /// <summary>Stops watching the descriptor and closes it, once.</summary>
    private void ReleaseDescriptor()
    {
        if (!_descriptorOpen)
        {
            return;
        }

        _descriptorOpen = false;
        _loop.RemoveDescriptor(_fd);
        if (_socket is not null)
        {
            _socket.Dispose();
        }
        else
        {
            Libc.Close(_fd);
        }
    }

    /// <summary>
    /// Closes the descriptor, runs the filters' close callbacks and tells the owner. An abandoned connection (its
    /// callback never returned) skips the close callbacks (the filter is still busy) and is not pooled: the callback
    /// may still touch its context. Loop thread only.
    /// </summary>
    private void Close(string? reason, bool abandoned = false)
    {
        if (_state == State.Closed)
        {
            return;
        }

        bool registered = _state != State.New;
        _state = State.Closed;
        _abandoned = abandoned;
        if (reason is not null)
        {
            Log.ConnectionDropped(_log, Id, reason);
        }

        if (registered)
        {
            ReleaseDescriptor();
            _loop.Release(_token);
        }
        else if (_socket is not null)
        {
            _socket.Dispose();
        }
        else
        {
            Libc.Close(_fd);
        }

        _descriptorOpen = false;
        if (abandoned)
        {
            Finish(ValueTask.CompletedTask);
            return;
        }

        ValueTask closing;
        try
        {
            closing = _session.CloseSessionAsync();
        }
        catch (Exception ex)
        {
            closing = ValueTask.FromException(ex);
        }

        if (closing.IsCompleted)
        {
            Finish(closing);
        }
        else
        {
            _ = FinishAsync(closing);
        }
    }

    /// <summary>
    /// Close callbacks that did not complete at once: awaited up to the callback deadline (the descriptor is already
    /// closed, so no hang-up can come to end the wait). Past it the token fires and the connection is counted as
    /// closed but never reused; what its session holds goes back if the callbacks ever return.
    /// </summary>
    private async Task FinishAsync(ValueTask closing)
    {
        Task closed = closing.AsTask();
        try
        {
            await closed.WaitAsync(_options.CallbackTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _session.ContextControl.AbortCallback();
            Log.CloseCallbacksAbandoned(_log, Id, _session.FilterNames, _options.CallbackTimeout.TotalSeconds);
            _abandoned = true;
            Finish(ValueTask.CompletedTask);
            _ = closed.ContinueWith(static (_, state) =>
            {
                var connection = (MilterConnection)state!;
                connection.ReleaseSessionBuffers();
                connection._owner.AbandonedCallbackReturned(connection);
            }, this, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            return;
        }
        catch (Exception ex)
        {
            Log.ConnectionFailed(_log, Id, ex);
        }

        Finish(ValueTask.CompletedTask);
    }

    private void Finish(ValueTask closed)
    {
        try
        {
            closed.GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            Log.ConnectionFailed(_log, Id, ex);
        }

        ConnectionSummary.Write(_log, Id, _session.ClientBytes, _session.Messages, _session.QueueIdBytes,
            _session.LastQuarantined ? VerdictNames.Quarantine : VerdictNames.Of(_session.LastVerdict), Stopwatch.GetElapsedTime(_started).TotalMilliseconds);

        // A connection going back to the pool keeps its receive buffer at working size for the next one: renting and
        // returning it per connection overflowed the shared array pool's per-core stacks at 64 concurrent connections
        // on two I/O threads (~10 bytes allocated per message); the pool lets idle connections go, buffer and all.
        bool pooled = _pool is not null && _loop.IsCurrentThread && !_abandoned;
        if (!pooled || _bufferReserved != 0)
        {
            FreeBuffer();
        }

        _owner.ConnectionClosed(this);
        if (_abandoned)
        {
            return;
        }

        ReleaseSessionBuffers();
        if (pooled)
        {
            _pool!.Return(this);
        }
    }
}
