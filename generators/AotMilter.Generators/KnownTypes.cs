namespace AotMilter.Generators;

/// <summary>The Abstractions types (and the runtime types callbacks use), looked up once per parse or analysed compilation.</summary>
internal sealed class KnownTypes(Compilation compilation)
{
    private readonly INamedTypeSymbol?[] _callbackAttributes = Array.ConvertAll(KnownNames.CallbackAttributes, compilation.GetTypeByMetadataName);

    public INamedTypeSymbol? Context { get; } = compilation.GetTypeByMetadataName(KnownNames.MilterContext);

    public INamedTypeSymbol? ConnectInfo { get; } = compilation.GetTypeByMetadataName(KnownNames.ConnectInfo);

    public INamedTypeSymbol? EnvelopeAddress { get; } = compilation.GetTypeByMetadataName(KnownNames.EnvelopeAddress);

    public INamedTypeSymbol? HeaderField { get; } = compilation.GetTypeByMetadataName(KnownNames.HeaderField);

    public INamedTypeSymbol? MessageEditor { get; } = compilation.GetTypeByMetadataName(KnownNames.MessageEditor);

    public INamedTypeSymbol? Verdict { get; } = compilation.GetTypeByMetadataName(KnownNames.Verdict);

    public INamedTypeSymbol? ReadOnlySpan { get; } = compilation.GetTypeByMetadataName("System.ReadOnlySpan`1");

    public INamedTypeSymbol? SmtpReply { get; } = compilation.GetTypeByMetadataName(KnownNames.SmtpReply);

    public INamedTypeSymbol? MacroAttribute { get; } = compilation.GetTypeByMetadataName(KnownNames.MacroAttribute);

    /// <summary>IResettableFilter: the dispatcher may reuse the filter instance for the next connection.</summary>
    public INamedTypeSymbol? ResettableFilter { get; } = compilation.GetTypeByMetadataName(KnownNames.ResettableFilter);

    /// <summary>IFilterSettings&lt;TSelf&gt; (the open generic type).</summary>
    public INamedTypeSymbol? FilterSettings { get; } = compilation.GetTypeByMetadataName(KnownNames.FilterSettings);

    public INamedTypeSymbol? CancellationToken { get; } = compilation.GetTypeByMetadataName(KnownNames.CancellationToken);

    public INamedTypeSymbol? ValueTask { get; } = compilation.GetTypeByMetadataName(KnownNames.ValueTask);

    /// <summary>ValueTask&lt;TResult&gt; (the open generic type).</summary>
    public INamedTypeSymbol? ValueTaskOfT { get; } = compilation.GetTypeByMetadataName(KnownNames.ValueTaskOfT);

    public INamedTypeSymbol? AsyncMethodBuilderAttribute { get; } = compilation.GetTypeByMetadataName(KnownNames.AsyncMethodBuilderAttribute);

    public INamedTypeSymbol? PoolingBuilder { get; } = compilation.GetTypeByMetadataName(KnownNames.PoolingBuilder);

    /// <summary>PoolingAsyncValueTaskMethodBuilder&lt;TResult&gt; (the open generic type).</summary>
    public INamedTypeSymbol? PoolingBuilderOfT { get; } = compilation.GetTypeByMetadataName(KnownNames.PoolingBuilderOfT);

    /// <summary>True for ValueTask&lt;Verdict&gt;.</summary>
    public bool IsValueTaskOfVerdict(ITypeSymbol type)
        => type is INamedTypeSymbol { IsGenericType: true } named
            && Is(named.OriginalDefinition, ValueTaskOfT)
            && Is(named.TypeArguments[0], Verdict);

    /// <summary>Returns Verdict or ValueTask&lt;Verdict&gt; (not by reference): a method that decides, whose verdicts are sent.</summary>
    public bool Decides(IMethodSymbol method)
        => !method.ReturnsByRef && !method.ReturnsByRefReadonly && (Is(method.ReturnType, Verdict) || IsValueTaskOfVerdict(method.ReturnType));

    /// <summary>True for the non-generic ValueTask.</summary>
    public bool IsValueTask(ITypeSymbol type) => Is(type, ValueTask);

    /// <summary>True for ReadOnlySpan&lt;byte&gt;.</summary>
    public bool IsBytes(ITypeSymbol type)
        => type is INamedTypeSymbol { IsGenericType: true } named
            && Is(named.OriginalDefinition, ReadOnlySpan)
            && named.TypeArguments[0].SpecialType == SpecialType.System_Byte;

    /// <summary>True when the method carries [AsyncMethodBuilder] naming one of the pooling ValueTask builders.</summary>
    public bool HasPoolingBuilder(IMethodSymbol method)
    {
        foreach (AttributeData attribute in method.GetAttributes())
        {
            if (attribute.AttributeClass is { } attributeClass
                && Is(attributeClass, AsyncMethodBuilderAttribute)
                && attribute.ConstructorArguments.Length == 1
                && attribute.ConstructorArguments[0].Value is INamedTypeSymbol builder
                && (Is(builder.OriginalDefinition, PoolingBuilder) || Is(builder.OriginalDefinition, PoolingBuilderOfT)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The [Macro] attribute on a parameter, or null.</summary>
    public AttributeData? MacroAttributeOf(IParameterSymbol parameter)
    {
        foreach (AttributeData attribute in parameter.GetAttributes())
        {
            if (attribute.AttributeClass is { } type && Is(type, MacroAttribute))
            {
                return attribute;
            }
        }

        return null;
    }

    /// <summary>True when <paramref name="type"/> is a class T implementing IFilterSettings&lt;T&gt;.</summary>
    public bool IsSettingsType(ITypeSymbol type)
    {
        if (FilterSettings is null || type.TypeKind != TypeKind.Class)
        {
            return false;
        }

        foreach (INamedTypeSymbol implemented in type.AllInterfaces)
        {
            if (Is(implemented.OriginalDefinition, FilterSettings) && Is(implemented.TypeArguments[0], type as INamedTypeSymbol))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The <see cref="MilterEvent"/> an attribute class stands for, or -1.</summary>
    public int CallbackIndex(INamedTypeSymbol? attributeClass)
    {
        if (attributeClass is null)
        {
            return -1;
        }

        for (int i = 0; i < _callbackAttributes.Length; i++)
        {
            if (SymbolEqualityComparer.Default.Equals(attributeClass, _callbackAttributes[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// The events the generator binds to a method of a filter class: those of its callback attributes for which it is
    /// the class's first method (a second one is AOTM007).
    /// </summary>
    public List<MilterEvent> EventsBoundTo(IMethodSymbol method)
    {
        var kinds = new List<MilterEvent>();
        foreach (AttributeData attribute in method.GetAttributes())
        {
            int index = CallbackIndex(attribute.AttributeClass);
            if (index >= 0 && method.ContainingType is { } type && SymbolEqualityComparer.Default.Equals(FirstBound(type, index), method))
            {
                kinds.Add((MilterEvent)index);
            }
        }

        return kinds;
    }

    private IMethodSymbol? FirstBound(INamedTypeSymbol type, int index)
    {
        foreach (ISymbol member in type.GetMembers())
        {
            if (member is IMethodSymbol method)
            {
                foreach (AttributeData attribute in method.GetAttributes())
                {
                    if (CallbackIndex(attribute.AttributeClass) == index)
                    {
                        return method;
                    }
                }
            }
        }

        return null;
    }

    /// <summary>The parameter kind a callback parameter of this type is bound as, or null when no kind has it.</summary>
    public ParameterKind? Classify(ITypeSymbol type) => type switch
    {
        _ when Is(type, Context) => ParameterKind.Context,
        _ when Is(type, ConnectInfo) => ParameterKind.ConnectInfo,
        _ when Is(type, EnvelopeAddress) => ParameterKind.EnvelopeAddress,
        _ when Is(type, HeaderField) => ParameterKind.HeaderField,
        _ when Is(type, MessageEditor) => ParameterKind.MessageEditor,
        _ when Is(type, CancellationToken) => ParameterKind.CancellationToken,
        _ when IsBytes(type) => ParameterKind.Bytes,
        { SpecialType: SpecialType.System_String } => ParameterKind.Text,
        _ => null,
    };

    private static bool Is(ITypeSymbol type, INamedTypeSymbol? known)
        => known is not null && SymbolEqualityComparer.Default.Equals(type, known);
}
