namespace AotMilter.Generators;

/// <summary>Names of the pipeline steps, so tests can check that each one caches.</summary>
internal static class TrackingNames
{
    /// <summary>One <c>FilterParseResult</c> per [Milter] class.</summary>
    public const string FilterResults = nameof(FilterResults);

    /// <summary>The diagnostics of one [Milter] class.</summary>
    public const string FilterDiagnostics = nameof(FilterDiagnostics);

    /// <summary>The models of the filters that can be emitted.</summary>
    public const string Filters = nameof(Filters);

    /// <summary>A filter model with the namespace it is emitted into.</summary>
    public const string FilterSources = nameof(FilterSources);

    /// <summary>Callback attributes on methods outside a [Milter] class.</summary>
    public const string OrphanCallbacks = nameof(OrphanCallbacks);

    /// <summary>The assembly name, output kind and referenced catalogs.</summary>
    public const string CompilationInfo = nameof(CompilationInfo);

    /// <summary>The assembly's catalog.</summary>
    public const string Catalog = nameof(Catalog);

    /// <summary>The diagnostics of the catalog (duplicate names).</summary>
    public const string CatalogDiagnostics = nameof(CatalogDiagnostics);

    /// <summary>The executable's LinkedFilters class.</summary>
    public const string Linked = nameof(Linked);

    /// <summary>The diagnostics of the linked set (duplicate names across assemblies).</summary>
    public const string LinkedDiagnostics = nameof(LinkedDiagnostics);
}
