using AotMilter.Generators.Model;
using Microsoft.CodeAnalysis;

namespace AotMilter.Generators;

/// <summary>The Abstractions types, looked up once per parse.</summary>
internal sealed class KnownTypes
{
    private readonly INamedTypeSymbol?[] _callbackAttributes;

    public KnownTypes(Compilation compilation)
    {
        Context = compilation.GetTypeByMetadataName(KnownNames.MilterContext);
        ConnectInfo = compilation.GetTypeByMetadataName(KnownNames.ConnectInfo);
        EnvelopeAddress = compilation.GetTypeByMetadataName(KnownNames.EnvelopeAddress);
        HeaderField = compilation.GetTypeByMetadataName(KnownNames.HeaderField);
        MessageEditor = compilation.GetTypeByMetadataName(KnownNames.MessageEditor);
        Verdict = compilation.GetTypeByMetadataName(KnownNames.Verdict);
        ReadOnlySpan = compilation.GetTypeByMetadataName("System.ReadOnlySpan`1");
        SmtpReply = compilation.GetTypeByMetadataName(KnownNames.SmtpReply);
        MacroAttribute = compilation.GetTypeByMetadataName(KnownNames.MacroAttribute);
        FilterSettings = compilation.GetTypeByMetadataName(KnownNames.FilterSettings);
        ResettableFilter = compilation.GetTypeByMetadataName(KnownNames.ResettableFilter);
        CancellationToken = compilation.GetTypeByMetadataName(KnownNames.CancellationToken);
        ValueTask = compilation.GetTypeByMetadataName(KnownNames.ValueTask);
        ValueTaskOfT = compilation.GetTypeByMetadataName(KnownNames.ValueTaskOfT);
        AsyncMethodBuilderAttribute = compilation.GetTypeByMetadataName(KnownNames.AsyncMethodBuilderAttribute);
        PoolingBuilder = compilation.GetTypeByMetadataName(KnownNames.PoolingBuilder);
        PoolingBuilderOfT = compilation.GetTypeByMetadataName(KnownNames.PoolingBuilderOfT);
        _callbackAttributes = new INamedTypeSymbol?[KnownNames.CallbackAttributes.Length];
        for (int i = 0; i < _callbackAttributes.Length; i++)
        {
            _callbackAttributes[i] = compilation.GetTypeByMetadataName(KnownNames.CallbackAttributes[i]);
        }
    }

    public INamedTypeSymbol? Context { get; }

    public INamedTypeSymbol? ConnectInfo { get; }

    public INamedTypeSymbol? EnvelopeAddress { get; }

    public INamedTypeSymbol? HeaderField { get; }

    public INamedTypeSymbol? MessageEditor { get; }

    public INamedTypeSymbol? Verdict { get; }

    public INamedTypeSymbol? ReadOnlySpan { get; }

    public INamedTypeSymbol? SmtpReply { get; }

    public INamedTypeSymbol? MacroAttribute { get; }

    /// <summary>IResettableFilter: the dispatcher may reuse the filter instance for the next connection.</summary>
    public INamedTypeSymbol? ResettableFilter { get; }

    /// <summary>IFilterSettings&lt;TSelf&gt; (the open generic type).</summary>
    public INamedTypeSymbol? FilterSettings { get; }

    public INamedTypeSymbol? CancellationToken { get; }

    public INamedTypeSymbol? ValueTask { get; }

    /// <summary>ValueTask&lt;TResult&gt; (the open generic type).</summary>
    public INamedTypeSymbol? ValueTaskOfT { get; }

    public INamedTypeSymbol? AsyncMethodBuilderAttribute { get; }

    public INamedTypeSymbol? PoolingBuilder { get; }

    /// <summary>PoolingAsyncValueTaskMethodBuilder&lt;TResult&gt; (the open generic type).</summary>
    public INamedTypeSymbol? PoolingBuilderOfT { get; }

    /// <summary>True for ValueTask&lt;Verdict&gt;.</summary>
    public bool IsValueTaskOfVerdict(ITypeSymbol type)
        => type is INamedTypeSymbol { IsGenericType: true } named
            && Is(named.OriginalDefinition, ValueTaskOfT)
            && Is(named.TypeArguments[0], Verdict);

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
