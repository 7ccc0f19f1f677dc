namespace AotMilter.Generators;

/// <summary>Metadata names of the AotMilter.Abstractions types the generator looks for.</summary>
internal static class KnownNames
{
    public const string MilterAttribute = "AotMilter.MilterAttribute";
    public const string MilterCatalogAttribute = "AotMilter.MilterCatalogAttribute";
    public const string MilterRegistration = "AotMilter.MilterRegistration";
    public const string FilterDispatcher = "AotMilter.FilterDispatcher";
    public const string MilterContext = "AotMilter.MilterContext";
    public const string ConnectInfo = "AotMilter.ConnectInfo";
    public const string EnvelopeAddress = "AotMilter.EnvelopeAddress";
    public const string HeaderField = "AotMilter.HeaderField";
    public const string MessageEditor = "AotMilter.MessageEditor";
    public const string Verdict = "AotMilter.Verdict";
    public const string SmtpReply = "AotMilter.SmtpReply";
    public const string MacroAttribute = "AotMilter.MacroAttribute";
    public const string FilterSettings = "AotMilter.Configuration.IFilterSettings`1";
    public const string ResettableFilter = "AotMilter.IResettableFilter";
    public const string CancellationToken = "System.Threading.CancellationToken";
    public const string ValueTask = "System.Threading.Tasks.ValueTask";
    public const string ValueTaskOfT = "System.Threading.Tasks.ValueTask`1";
    public const string AsyncMethodBuilderAttribute = "System.Runtime.CompilerServices.AsyncMethodBuilderAttribute";
    public const string PoolingBuilder = "System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder";
    public const string PoolingBuilderOfT = "System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder`1";

    public const string OnConnect = "AotMilter.OnConnectAttribute";
    public const string OnHelo = "AotMilter.OnHeloAttribute";
    public const string OnMailFrom = "AotMilter.OnMailFromAttribute";
    public const string OnRcptTo = "AotMilter.OnRcptToAttribute";
    public const string OnData = "AotMilter.OnDataAttribute";
    public const string OnHeader = "AotMilter.OnHeaderAttribute";
    public const string OnEndOfHeaders = "AotMilter.OnEndOfHeadersAttribute";
    public const string OnBody = "AotMilter.OnBodyAttribute";
    public const string OnEndOfMessage = "AotMilter.OnEndOfMessageAttribute";
    public const string OnAbort = "AotMilter.OnAbortAttribute";
    public const string OnClose = "AotMilter.OnCloseAttribute";
    public const string OnUnknown = "AotMilter.OnUnknownAttribute";

    /// <summary>The callback attributes, indexed by <see cref="MilterEvent"/>.</summary>
    public static readonly string[] CallbackAttributes =
    [
        OnConnect,
        OnHelo,
        OnMailFrom,
        OnRcptTo,
        OnData,
        OnHeader,
        OnEndOfHeaders,
        OnBody,
        OnEndOfMessage,
        OnAbort,
        OnClose,
        OnUnknown,
    ];

    /// <summary>The generated catalog class, one per assembly with filters.</summary>
    public const string CatalogClass = "MilterCatalog";

    /// <summary>The catalog's constant that lists its filter names (space-separated), read by executables that link it.</summary>
    public const string CatalogFilterNames = "FilterNames";

    /// <summary>The generated namespace root: catalogs go to AotMilter.Generated.&lt;assembly&gt;.</summary>
    public const string GeneratedNamespace = "AotMilter.Generated";
}
