using AotMilter.Mta.Model;

namespace AotMilter.Mta;

public sealed partial class MtaSession
{
    /// <summary>The state of one message.</summary>
    private sealed class Transaction(SmtpAddress sender, string queueId, DateTimeOffset arrival)
    {
        public SmtpAddress Sender { get; } = sender;

        public string QueueId { get; } = queueId;

        public DateTimeOffset Arrival { get; } = arrival;

        public List<SmtpAddress> Accepted { get; } = [];

        public List<SmtpAddress> Refused { get; } = [];

        public List<StageResult> Stages { get; } = [];

        public SmtpAddress? Current { get; set; }

        public MtaMessage? Store { get; set; }

        /// <summary>True once the milter was sent MAIL and not yet end of message or abort.</summary>
        public bool MilterStarted { get; set; }

        public bool Finished { get; set; }

        public string? FinishedBecause { get; set; }

        /// <summary>Why the milter gets no more events for this message although it goes on (accepted early).</summary>
        public string? Unfiltered { get; set; }

        public MessageOutcome? Outcome { get; set; }

        public SmtpResponse? FinalResponse { get; set; }

        public StageResult? DecidedAt { get; set; }

        public EndOfMessageResult? EndOfMessage { get; set; }

        public string? Quarantine { get; set; }

        public int Progress { get; set; }

        public MessageContext Context(MtaProfile profile, SmtpClientInfo client) =>
            new(profile, client, QueueId, Arrival, Sender, Accepted);
    }
}
